from __future__ import annotations

from typing import Literal

from pydantic import EmailStr

from service.schemas import Request, Response


class StaffCreate(Request):
    email: EmailStr
    role: Literal["publisher", "admin"]


class StaffCreated(Response):
    email: str
    role: str
    token: str
