"""Errors of the knowledge layer. Messages are safe to show to users."""


class KnowledgeError(Exception):
    """Base class; `str(err)` is a user-facing, actionable message."""


class LoadError(KnowledgeError):
    """A document could not be read; the sync reports it and moves on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexNotFound(KnowledgeError):
    """Searching a collection that has never been indexed."""

    def __init__(self, collection: str) -> None:
        super().__init__(
            f"No index for collection '{collection}' yet. "
            f"Build one with: teamkb index PATH --collection {collection}"
        )
        self.collection = collection


class InvalidCollectionName(KnowledgeError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Invalid collection name '{name}': use letters, digits, '-' and '_' (max 64)."
        )


class EmbeddingMismatch(KnowledgeError):
    """A collection was built by another embedding model: its vectors cannot be compared
    with this one's, so searching or adding to it would give wrong results."""

    def __init__(self, collection: str, built: str, built_dim: int, want: str, want_dim: int):
        super().__init__(
            f"Collection '{collection}' was indexed with {built} ({built_dim} dimensions), "
            f"but teamkb now embeds with {want} ({want_dim} dimensions). Index into a new "
            f"collection, or drop this one and index again: "
            f"teamkb index PATH --collection {collection}"
        )
        self.collection = collection


class CollectionBusy(KnowledgeError):
    """Another process holds the collection's write lock (an index run is under way)."""

    def __init__(self, collection: str, lock: object) -> None:
        super().__init__(
            f"Collection '{collection}' is being written by another teamkb process "
            f"(lock {lock}); try again when its index run has finished."
        )
        self.collection = collection


class CollectionNotFound(KnowledgeError):
    """Inspecting or dropping a collection that does not exist."""

    def __init__(self, collection: str, existing: list[str]) -> None:
        known = ", ".join(existing) if existing else "none yet"
        super().__init__(
            f"No collection '{collection}' in this index (collections: {known}). "
            f"List them with: teamkb collections"
        )
        self.collection = collection


class ObjectStoreDenied(KnowledgeError):
    """The object store (S3, …) refused the credentials. The message names the variable
    to fix and never the secret itself."""

    def __init__(self, uri: str, variable: str, code: str) -> None:
        super().__init__(
            f"The object store refused access to {uri} ({code}): check {variable} "
            "(and the other AWS_* variables) in the environment teamkb runs with."
        )
        self.uri = uri
        self.variable = variable


class RerankerUnavailable(KnowledgeError):
    """The configured re-ranker folder cannot be loaded as a cross-encoder."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"The re-ranker at {path} cannot be used: {reason}. Fix `retrieval.reranker` "
            'in teamkb.toml, or set it to "" to search without one.'
        )
        self.path = path
