"""Review documents (PDF, DOCX) read into a draft brief: text extracted, repaired into
Markdown, sections found, learning points and source fields proposed (docs/importing.md)."""
