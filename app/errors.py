"""Errors every interface reports the same way (the CLI prints them and exits 2)."""


class ServiceError(RuntimeError):
    """A configured server (Chroma server, OpenAI-compatible LLM endpoint) is unreachable or refused us."""
