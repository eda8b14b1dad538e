"""A local bilingual research assistant: quoted, paragraph-cited answers from a document collection."""

__version__ = "0.1.0"
