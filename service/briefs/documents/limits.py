"""How much an import may take: the upload, the pages, the text, the time and the memory."""

MAX_BYTES = 20 * 1024 * 1024  # "20 MB": the console's upload limit and the command line's
MAX_PAGES = 1_000
MAX_TEXT = 3_000_000  # characters of repaired text kept
TIMEOUT = 30.0  # seconds of wall-clock time for one extraction, in its own process
CPU_SECONDS = 30  # the same bound, as the child's RLIMIT_CPU
MEMORY = 1536 * 1024 * 1024  # the child's address space (RLIMIT_AS)
MAX_UNZIPPED = 200 * 1024 * 1024  # a DOCX's parts, once unzipped
