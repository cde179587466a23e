"""Typical cases (典型案例): draft after an accepted order, agree, curate, publish, browse."""
