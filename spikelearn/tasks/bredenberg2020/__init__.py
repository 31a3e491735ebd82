"""Bredenberg, Simoncelli & Savin (2020): reward-modulated Hebbian learning of efficient, task-specific codes."""
