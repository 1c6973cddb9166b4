"""PDF: one section per page, its span the page number (a PDF has no stable lines)."""

from __future__ import annotations

from knowledge.documents import LoadedDoc, Section
from knowledge.errors import LoadError
from knowledge.formats.format import Format
from knowledge.formats.sections import document, name_title


def load_pdf(path_str: str, rel: str) -> LoadedDoc:
    from langchain_community.document_loaders import PyPDFLoader

    try:
        pages = PyPDFLoader(path_str).load()
    except Exception as exc:  # pypdf raises many unrelated types for broken files
        raise LoadError(rel, f"unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    sections = []
    title = ""
    for i, page in enumerate(pages, start=1):
        title = title or str(page.metadata.get("title") or "")
        body = page.page_content.strip()
        if body:
            sections.append(Section((f"Page {i}",), body, i, i))
    if not sections:
        raise LoadError(rel, "PDF has no extractable text (scanned images need OCR first)")
    return document(rel, title or name_title(rel), sections)


# pypdf reads the file itself; a gzipped PDF is rare enough to leave out.
FORMAT = Format("PDF", (".pdf",), load_pdf, gzipped=False)
