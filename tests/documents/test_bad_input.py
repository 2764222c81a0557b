"""Files that can't become a draft: each is one sentence, found before anything is made,
and a reader that runs too long is stopped."""

from __future__ import annotations

import io
import zipfile

import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw
from pypdf import PdfWriter

from service.briefs.documents import pdf as pdf_module
from service.briefs.documents.isolation import TOO_LONG, read_isolated
from service.briefs.documents.pdf import DAMAGED, LOCKED, SCANNED
from service.briefs.documents.reader import read
from service.briefs.documents.text import DocumentError
from tests.documents.review import LEARNING, long_review, review_docx, review_pdf


def encrypted(user: str, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(review_pdf()))
    owner = "owner-secret"
    writer.encrypt(user_password=user, owner_password=owner, algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned() -> bytes:
    """A page that is only a picture of text, as a scanner makes."""
    picture = Image.new("L", (600, 800), 255)
    ImageDraw.Draw(picture).text((40, 40), "Learning from Child L", fill=0)
    document = FPDF()
    document.add_page()
    document.image(picture, x=10, y=10, w=190)
    return bytes(document.output())


def zip_of(parts: dict[str, bytes], big: int = 0) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
        if big:
            with archive.open("word/media/huge.bin", "w", force_zip64=True) as huge:
                chunk = bytes(1024 * 1024)
                for _ in range(big):
                    huge.write(chunk)
    return out.getvalue()


CASES = [
    (lambda: encrypted("secret", "AES-256"), LOCKED),
    (lambda: encrypted("secret", "RC4-128"), LOCKED),
    (scanned, SCANNED),
    (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, DAMAGED),
    (lambda: b"", "the file is empty"),
    (lambda: b"GIF89a" + bytes(100), "this file is not a PDF or a Word document (.docx)"),
    (lambda: b"Just some text, saved as review.pdf", "this file is not a PDF or a Word document"),
    (
        lambda: bytes.fromhex("d0cf11e0a1b11ae1") + bytes(512),
        "this is an older Word document (.doc); save it as .docx or PDF and import that",
    ),
    (
        lambda: bytes.fromhex("d0cf11e0a1b11ae1") + "EncryptedPackage".encode("utf-16-le"),
        "this Word document is protected by a password; remove the password and import it again",
    ),
    (lambda: b"PK\x03\x04" + bytes(64), "this Word document is damaged and can't be read"),
    (lambda: zip_of({"mimetype": b"x"}), "this file is not a PDF or a Word document (.docx)"),
    (
        lambda: zip_of({"word/document.xml": b"<w:document"}, big=201),
        "this Word document unpacks to more than 200 MB; it can't be read",
    ),
    (
        lambda: zip_of({"[Content_Types].xml": b"<bad", "word/document.xml": b"<bad"}),
        "this Word document is damaged and can't be read",
    ),
]


@pytest.mark.parametrize(("make", "sentence"), CASES)
def test_each_bad_file_is_one_sentence(make: object, sentence: str) -> None:
    with pytest.raises(DocumentError) as raised:
        read(make())  # type: ignore[operator]
    assert str(raised.value).startswith(sentence)
    assert "\n" not in str(raised.value)


def test_a_pdf_locked_only_against_changes_is_read() -> None:
    """Published PDFs often restrict printing or copying with an empty password to open."""
    for algorithm in ("RC4-128", "AES-128", "AES-256"):
        assert read(encrypted("", algorithm)).proposal.learning_points == list(LEARNING)


def test_too_many_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module, "MAX_PAGES", 2)
    with pytest.raises(DocumentError, match=r"^it has 3 pages; an import reads at most 2$"):
        read(review_pdf())


async def test_the_child_process_answers_with_the_same_sentences() -> None:
    with pytest.raises(DocumentError, match=r"^this PDF is scanned images; it has no text"):
        await read_isolated(scanned())
    reading = await read_isolated(review_docx())
    assert reading.proposal.learning_points == list(LEARNING)


async def test_a_reader_that_runs_too_long_is_stopped() -> None:
    """The bound that holds whatever a hostile file does: the child is killed."""
    with pytest.raises(DocumentError) as raised:
        await read_isolated(review_pdf(long_review(30)), seconds=0.2)
    assert str(raised.value) == TOO_LONG
