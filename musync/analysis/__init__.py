"""Listening to the song (float seconds throughout)."""
from __future__ import annotations


def analyze(path, **options):
    raise NotImplementedError


def load_analysis(path):
    raise NotImplementedError


def save_analysis(analysis, path, *, overwrite=False):
    raise NotImplementedError
