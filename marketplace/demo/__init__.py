"""Deterministic demo content (chain leaders, providers, packages, SMEs, needs).

Pure Python: no Flask, no SQLAlchemy. A seeding command turns :class:`DemoContent` into rows.
"""

from .content import DemoContent, build_demo

__all__ = ["DemoContent", "build_demo"]
