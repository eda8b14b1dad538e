"""The reader: a language model that reads a passage against a question, behind a narrow interface.

``base`` defines the :class:`~assistant.answer.reader.base.Reader` protocol (no reader at all means
extractive answers only); ``prompts`` holds the versioned prompts and the strict
parsers of what a model returns; ``local`` runs the GGUF model in-process through llama.cpp and
``remote`` talks to an OpenAI-compatible server. Whatever a reader says is only ever used to judge,
to choose among the paragraph's own sentences, or to render a verified quote: never as evidence.
"""
