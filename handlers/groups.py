"""Practitioner groups over the API (admins only)."""

from __future__ import annotations

from aiohttp import web

from handlers.api import Api
from handlers.common import mail, wake_mail
from handlers.inputs import path_id
from learnhub.keys import clock_key, readonly_key, sessions_key, settings_key, tagging_key
from service.staff.models import Role, StaffMember
from subscribers.groups import service as groups
from subscribers.groups.models import Group
from subscribers.groups.schemas import (
    FeedToken,
    GroupCreate,
    GroupList,
    GroupOut,
    GroupUpdate,
    MemberAdd,
    MemberOut,
)

api = Api()
TAG = "groups"
ID = "{id:\\d+}"


def group_out(group: Group) -> GroupOut:
    members = [
        MemberOut(
            email=m.subscriber.email,
            confirmed=m.confirmed_at is not None,
            invited_at=m.invited_at,
            confirmed_at=m.confirmed_at,
        )
        for m in sorted(group.members, key=lambda m: m.subscriber.email)
    ]
    return GroupOut.model_validate(
        {
            **{
                c: getattr(group, c)
                for c in GroupOut.model_fields
                if c not in ("members", "has_feed")
            },
            "members": members,
            "has_feed": group.feed_token_hash is not None,
        }
    )


def _id(request: web.Request) -> int:
    return path_id(request, "group")


@api.route(
    "POST",
    "/api/v1/groups",
    summary="Create a practitioner group",
    tag=TAG,
    body=GroupCreate,
    response=GroupOut,
    status=201,
    role=Role.admin,
)
async def create_group(request: web.Request, body: GroupCreate, staff: StaffMember) -> GroupOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        group = await groups.create(
            session, body, taxonomy=app[tagging_key].taxonomy, staff=staff, now=app[clock_key]()
        )
        return group_out(group)


@api.route(
    "GET", "/api/v1/groups", summary="Every group", tag=TAG, response=GroupList, role=Role.admin
)
async def list_groups(request: web.Request, staff: StaffMember) -> GroupList:
    async with request.app[readonly_key]() as session:
        return GroupList(items=[group_out(g) for g in await groups.get_all(session)])


@api.route(
    "GET", f"/api/v1/groups/{ID}", summary="One group", tag=TAG, response=GroupOut, role=Role.admin
)
async def get_group(request: web.Request, staff: StaffMember) -> GroupOut:
    async with request.app[readonly_key]() as session:
        return group_out(await groups.get(session, _id(request)))


@api.route(
    "PATCH",
    f"/api/v1/groups/{ID}",
    summary="Change a group",
    tag=TAG,
    body=GroupUpdate,
    response=GroupOut,
    role=Role.admin,
)
async def update_group(request: web.Request, body: GroupUpdate, staff: StaffMember) -> GroupOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        group = await groups.update(
            session,
            _id(request),
            body,
            taxonomy=app[tagging_key].taxonomy,
            staff=staff,
            now=app[clock_key](),
        )
        return group_out(group)


@api.route(
    "POST",
    f"/api/v1/groups/{ID}/members",
    summary="Invite a member (they must confirm)",
    tag=TAG,
    body=MemberAdd,
    response=MemberOut,
    status=202,
    role=Role.admin,
)
async def add_member(request: web.Request, body: MemberAdd, staff: StaffMember) -> MemberOut:
    app = request.app
    async with app[sessions_key].begin() as session:
        member = await groups.add_member(
            session,
            _id(request),
            body.email,
            mail=mail(request),
            practitioner_domains=app[settings_key].practitioner_domains,
            staff=staff,
            now=app[clock_key](),
        )
        out = MemberOut(
            email=member.subscriber.email,
            confirmed=member.confirmed_at is not None,
            invited_at=member.invited_at,
            confirmed_at=member.confirmed_at,
        )
    wake_mail(app)
    return out


@api.route(
    "DELETE",
    f"/api/v1/groups/{ID}/members/{{email}}",
    summary="Remove a member",
    tag=TAG,
    status=204,
    role=Role.admin,
)
async def remove_member(request: web.Request, staff: StaffMember) -> web.Response:
    app = request.app
    async with app[sessions_key].begin() as session:
        await groups.remove_member(
            session, _id(request), request.match_info["email"], staff=staff, now=app[clock_key]()
        )
    return web.Response(status=204)


@api.route(
    "POST",
    f"/api/v1/groups/{ID}/feed-token",
    summary="Issue a new private feed link",
    tag=TAG,
    response=FeedToken,
    role=Role.admin,
)
async def rotate_feed(request: web.Request, staff: StaffMember) -> FeedToken:
    async with request.app[sessions_key].begin() as session:
        group = await groups.get(session, _id(request))
        token = groups.rotate_feed_token(session, group, staff=staff, now=request.app[clock_key]())
    base = request.app[settings_key].base_url
    return FeedToken(feed_url=f"{base}/feeds/groups/{token}.atom")


@api.route(
    "DELETE",
    f"/api/v1/groups/{ID}/feed-token",
    summary="Revoke the private feed link",
    tag=TAG,
    status=204,
    role=Role.admin,
)
async def revoke_feed(request: web.Request, staff: StaffMember) -> web.Response:
    async with request.app[sessions_key].begin() as session:
        group = await groups.get(session, _id(request))
        groups.revoke_feed_token(session, group, staff=staff, now=request.app[clock_key]())
    return web.Response(status=204)
