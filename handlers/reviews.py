"""The full review a brief was imported from, offered on the brief's page when the publisher
chose to ("Full review, PDF, 1.2 MB"): the brief page's rules decide who may have it
(restricted briefs only for signed-in practitioners, withdrawn ones nobody)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from handlers.site import readable_now
from learnhub.keys import readonly_key
from service.briefs.documents import service as documents
from service.briefs.documents.models import BriefDocument

routes = web.RouteTableDef()


@routes.get("/briefs/{id}/review")
async def review_file(request: web.Request) -> web.Response:
    found = await readable_now(request, "/review")
    if isinstance(found, web.Response):
        return found
    async with request.app[readonly_key]() as session:
        document = await documents.content(session, found.id)
    if document is None or not document.offered:
        raise web.HTTPNotFound()
    return download(document)


def download(document: BriefDocument) -> web.Response:
    """The file as an attachment: never shown inline from our origin (a PDF may script)."""
    ascii_name = document.filename.encode("ascii", "replace").decode().replace("?", "_")
    return web.Response(
        body=document.content,
        content_type=document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(document.filename, safe='')}",
        },
    )
