"""Recipes: each method as a loop a reader follows top to bottom (set up, then for each round:
train, score, checkpoint; then keep a round), calling plain functions of core/."""
