"""The knowledge-base layer: load docs, chunk them, embed them, keep them in LanceDB.

It knows nothing of language models; `engine` builds answers on top of it.
"""

from knowledge.documents import Chunk, LoadedDoc, Section
from knowledge.errors import IndexNotFound, KnowledgeError, LoadError

__all__ = ["Chunk", "IndexNotFound", "KnowledgeError", "LoadError", "LoadedDoc", "Section"]
