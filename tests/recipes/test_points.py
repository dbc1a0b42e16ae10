"""Several targets unlearned at once (the benchmark's `batch`): one target made of its members."""

import pytest
import torch

from atu_pipeline.data import rwku
from atu_pipeline.params import WorldParams
from atu_pipeline.recipes.points import TargetData, group_target


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    """Targets 1-3 of a four-person demo world, as load_target tables them (fixed concepts)."""
    world = WorldParams(
        n_people=4, corpus_texts_per_person=4, root=str(tmp_path_factory.mktemp("w"))
    )
    settings = dict(source="demo", root="", hub_id="", forget_corpus="positive_phi")
    targets = []
    for index in range(3):
        files = rwku.find_target(
            str(index + 1), **settings, other_targets=2, retain_targets=3, world=world.model_dump()
        )
        targets.append(
            TargetData(
                info=rwku.target_info(files),
                probes=rwku.probe_table(files, test_share=0.5, seed=0),
                retain_probes=rwku.retain_probe_table(files, test_share=0.5, seed=0),
                forget_corpus=rwku.forget_corpus_table(files),
                retain_corpus=rwku.retain_corpus_table(files),
                mia_texts=rwku.mia_table(files),
                concept=torch.full((3,), float(index)),
                memorised_probes=[],
            )
        )
    return targets


def test_a_group_forgets_the_union_and_retains_only_what_no_member_is(people):
    first, second, _ = people
    group = group_target([first, second])
    names = {first.info["name"], second.info["name"]}
    assert group.info["members"] == {t.info["id"]: t.info["name"] for t in (first, second)}
    # a neighbor probe about another member asks what the group forgets: it leaves the group
    about_members = sum(t.probes["neighbor"].isin(names).sum() for t in (first, second))
    assert about_members > 0  # this world makes the two people colleagues
    assert len(group.probes) == len(first.probes) + len(second.probes) - about_members
    assert not group.probes["neighbor"].isin(names).any()
    assert len(group.forget_corpus) == len(first.forget_corpus) + len(second.forget_corpus)
    assert torch.equal(group.concept, torch.tensor([[0.0] * 3, [1.0] * 3]))  # stacked (K, D)
    # a member is no other target, no retain text and no retain MIA text of the other member
    assert not set(group.retain_probes["subject"]) & names
    assert set(group.retain_probes["subject"]) == {
        people[2].info["name"],
        *[name for name in first.retain_probes["subject"] if name not in names],
    }
    assert not set(group.retain_corpus["subject"]) & names
    retain_mia = group.mia_texts[group.mia_texts["split"] == "retain"]["text"]
    assert not any(name in text for text in retain_mia for name in names)
    forget_mia = group.mia_texts[group.mia_texts["split"] == "forget"]
    assert len(forget_mia) == sum((t.mia_texts["split"] == "forget").sum() for t in (first, second))
