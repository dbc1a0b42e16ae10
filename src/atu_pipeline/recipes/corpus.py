"""RWKU's forget corpus for any model (rwku.md §3.1): RWKU ships corpora written by Llama-3 and
Phi-3 only, and its protocol asks the model under test to write its own. For each response
prefix of `all_truncated_outputs.json`, the model is told the target's intro and asked for a
short biography, its answer pre-filled with the prefix; the text is the prefix plus what it
writes. Cached by model, target and recipe, so a corpus is written once."""

import hashlib
import json
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from atu_pipeline.core.eval.generate import sample
from atu_pipeline.core.eval.prompts import render_chat
from atu_pipeline.core.llm import CausalLM
from atu_pipeline.data.rwku import RwkuFormatError, name_from_id
from atu_pipeline.io.models import ModelCache, load_llm
from atu_pipeline.params import GenerationParams, ModelSpec

USER = "Please write a short biography of {target}."
SYSTEM = "{intro} You know {target} very well."


def generation_inputs(generation: GenerationParams) -> tuple[dict[str, str], list[str]]:
    """{target name: intro} (the first of RWKU's three) and the response prefixes."""
    folder = Path(generation.inputs)
    try:
        intros = json.loads((folder / "all_intro.json").read_text())
        prefixes = json.loads((folder / "all_truncated_outputs.json").read_text())
    except FileNotFoundError as err:
        raise RwkuFormatError(
            f"rwku.forget_corpus=generate needs RWKU's generation/ files in "
            f"rwku.generation.inputs={folder}: {err.filename} is missing (they are in RWKU's "
            f"repository, generation/all_intro.json and all_truncated_outputs.json)"
        ) from None
    return {name: texts[0] for name, texts in intros.items()}, prefixes[: generation.max_texts]


def write_biographies(
    llm: CausalLM, target: str, intro: str, prefixes: list[str], generation: GenerationParams
) -> list[str]:
    """One biography of `target` per prefix, written by `llm` in batches."""
    system, user = SYSTEM.format(intro=intro, target=target), USER.format(target=target)
    prompts = [render_chat(llm.tokenizer, system, user, prefix) for prefix in prefixes]
    with tqdm(total=len(prompts), desc=f"write corpus: {target}", unit="text") as bar:
        texts = sample(
            llm,
            prompts,
            max_new_tokens=generation.max_new_tokens,
            batch_size=generation.batch_size,
            temperature=generation.temperature,
            top_p=generation.top_p,
            seed=generation.seed,
            on_batch=lambda done, total: bar.update(done - bar.n),
        )
    return [prefix + text for prefix, text in zip(prefixes, texts, strict=True)]


def generated_corpus(
    target_ids: list[str], *, llm: ModelSpec, cache: ModelCache, generation: GenerationParams
) -> pd.DataFrame:
    """The written corpora (`subject`, `text`) of the targets, each cached by model and recipe;
    the model is loaded only when a corpus is missing."""
    intros, prefixes = generation_inputs(generation)
    model = None
    rows = []
    for target_id in target_ids:
        name = name_from_id(target_id)
        recipe = {
            "kind": "corpus",
            "llm": llm.model_dump(),
            "target": name,
            "intro": intros.get(name, ""),
            "generation": generation.model_dump(),
            "prefixes": hashlib.sha256(json.dumps(prefixes).encode()).hexdigest(),
        }
        path = cache.path(cache.key(**recipe)) / "corpus.json"
        if not path.is_file():
            model = model or load_llm(
                llm.spec, llm.gguf_file, llm.dtype, llm.trust_remote_code, cache=cache
            )
            texts = write_biographies(model, name, intros.get(name, ""), prefixes, generation)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".partial").write_text(json.dumps(texts, ensure_ascii=False))
            path.with_suffix(".partial").replace(path)
        rows += [{"subject": name, "text": text} for text in json.loads(path.read_text())]
    return pd.DataFrame(rows, columns=["subject", "text"]).astype(str)
