"""The few domain errors every stage raises; the CLI and the HTTP routes map them in one place each."""


class CiteqaError(Exception):
    """Base class: the message is written for the user, one line, saying what to do."""


class CorpusNotFound(CiteqaError):
    """The corpus folder does not exist or is not a folder."""


class IndexMissing(CiteqaError):
    """No index has been built yet at the index path."""


class IndexMismatch(CiteqaError):
    """The index on disk was built with another model, dimension or chunking."""


class IndexCorrupt(CiteqaError):
    """Index files are missing, truncated or unreadable."""


class BadDocument(CiteqaError):
    """A document could not be read: undecodable text, broken PDF, empty text."""


class UnsupportedType(CiteqaError):
    """A file type citeqa does not read."""


class DocumentNotFound(CiteqaError):
    """No document with that id."""


class DuplicateDocument(CiteqaError):
    """The same content is already in the corpus (carries the existing doc_id)."""

    def __init__(self, message: str, doc_id: str) -> None:
        super().__init__(message)
        self.doc_id = doc_id


class BadQuestion(CiteqaError):
    """Empty, whitespace-only or over-long question."""


class StorageFull(CiteqaError):
    """The disk holding the index folder is full (API 507); nothing was changed."""


class StorageUnavailable(CiteqaError):
    """The index folder cannot be written (read-only, permissions; API 503); nothing was changed."""


class DocumentTooLarge(CiteqaError):
    """A document over the per-upload cost cap (sentences; API 413)."""
