"""Shared JSON shapes: dates, users, statuses, priorities, platform comments (Cloud vs Data Center)."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox import catalog
from sandbox.records import Account, Comment


def jira_time(ms: int) -> str:
    """Jira's timestamp format, e.g. `2019-02-15T19:15:40.477+0000` (the sandbox runs in UTC)."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def date_dto(ms: int) -> dict:
    """servicedeskapi `DateDTO`."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return {"iso8601": dt.strftime("%Y-%m-%dT%H:%M:%S+0000"), "jira": jira_time(ms),
            "friendly": dt.strftime("%d/%b/%y %I:%M %p"), "epochMillis": ms}


def adf(text: str | None) -> dict | None:
    """Wrap plain text as an Atlassian Document Format document (what v3 returns for rich text)."""
    if text is None:
        return None
    paragraphs = [p for p in text.split("\n\n")] or [""]
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": p}] if p else []} for p in paragraphs]}


class Shapes:
    """Builds the site-specific parts of payloads (links, user objects) for one base URL and deployment."""

    def __init__(self, base_url: str, deployment: str) -> None:
        self.base = base_url.rstrip("/")
        self.cloud = deployment == "cloud"

    def avatars(self, seed: str) -> dict:
        """Avatar URL set (the stand-in has no images; URLs are only shapes)."""
        return {f"{n}x{n}": f"{self.base}/secure/useravatar?size={n}&owner={seed}" for n in (48, 24, 16, 32)}

    def user(self, a: Account | None) -> dict | None:
        """Platform user (webhook `user`, `author`, `reporter`): accountId on Cloud, name/key on DC."""
        if a is None:
            return None
        if self.cloud:
            return {"self": f"{self.base}/rest/api/2/user?accountId={a.account_id}", "accountId": a.account_id,
                    "emailAddress": a.email, "avatarUrls": self.avatars(a.account_id),
                    "displayName": a.display_name, "active": True, "timeZone": a.time_zone,
                    "accountType": "customer" if a.kind == "customer" else "atlassian"}
        return {"self": f"{self.base}/rest/api/2/user?username={a.name}", "name": a.name, "key": a.name,
                "emailAddress": a.email, "avatarUrls": self.avatars(a.name), "displayName": a.display_name,
                "active": True, "timeZone": a.time_zone}

    def sd_user(self, a: Account) -> dict:
        """servicedeskapi `UserDTO`."""
        out = {"accountId": a.account_id, "emailAddress": a.email, "displayName": a.display_name,
               "active": True, "timeZone": a.time_zone,
               "_links": {"jiraRest": f"{self.base}/rest/api/2/user?accountId={a.account_id}",
                          "avatarUrls": self.avatars(a.account_id),
                          "self": f"{self.base}/rest/api/2/user?accountId={a.account_id}"}}
        if not self.cloud:
            out.update(name=a.name, key=a.name)
            del out["accountId"]
        return out

    def status_category(self, cat: catalog.StatusCategory) -> dict:
        """Platform `StatusCategory`."""
        return {"self": f"{self.base}/rest/api/2/statuscategory/{cat.id}", "id": cat.id, "key": cat.key,
                "colorName": cat.color, "name": cat.name}

    def status(self, s: catalog.Status) -> dict:
        """Platform `StatusDetails`."""
        return {"self": f"{self.base}/rest/api/2/status/{s.id}", "description": s.description,
                "iconUrl": f"{self.base}/images/icons/statuses/generic.png", "name": s.name, "id": s.id,
                "statusCategory": self.status_category(s.category)}

    def priority(self, p: catalog.Priority) -> dict:
        """Platform `Priority` as embedded in issues."""
        return {"self": f"{self.base}/rest/api/2/priority/{p.id}",
                "iconUrl": f"{self.base}/images/icons/priorities/{p.icon}.svg", "name": p.name, "id": p.id}

    def comment(self, issue_id: int, c: Comment, v3: bool = False, with_properties: bool = False) -> dict:
        """Platform comment: `jsdPublic` on Cloud only (DC consumers must read `sd.public.comment`)."""
        out = {"self": f"{self.base}/rest/api/2/issue/{issue_id}/comment/{c.id}", "id": str(c.id),
               "author": self.user(c.author), "body": adf(c.body) if v3 else c.body,
               "updateAuthor": self.user(c.update_author or c.author), "created": jira_time(c.created_ms),
               "updated": jira_time(c.updated_ms)}
        if self.cloud:
            out["jsdPublic"] = c.public
        if with_properties:
            out["properties"] = [{"key": k, "value": v} for k, v in c.properties.items()]
        return out

    def comment_page(self, issue_id: int, comments: list[Comment], start: int = 0, limit: int = 5000,
                     v3: bool = False, with_properties: bool = False) -> dict:
        """Platform `PageOfComments`."""
        chunk = comments[start:start + limit]
        return {"comments": [self.comment(issue_id, c, v3, with_properties) for c in chunk],
                "maxResults": limit, "total": len(comments), "startAt": start}
