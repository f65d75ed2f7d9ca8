"""Mailchimp's OAuth 2 at login.mailchimp.com: authorize (with an Allow page), token, metadata.

Mailchimp's access tokens never expire (`expires_in: 0`) and carry no scope; the account's
data center comes from the metadata endpoint, called with `Authorization: OAuth <token>`.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, render_template_string, request

from .context import double

bp = Blueprint("mailchimp_oauth", __name__, url_prefix="/oauth2")

ALLOW_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mailchimp: allow access</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 4rem auto">
  <h1>Allow {{ client_id }} to access your Mailchimp account?</h1>
  <p>Signed in as <strong>{{ account.name }}</strong> ({{ account.login }}).</p>
  <form method="post">
    {% for key, value in params.items() %}
    <input type="hidden" name="{{ key }}" value="{{ value }}">{% endfor %}
    <label>Account <select name="login">{% for login in logins %}
      <option{% if login == account.login %} selected{% endif %}>{{ login }}</option>{% endfor %}
    </select></label>
    <button type="submit" name="decision" value="allow">Allow</button>
    <button type="submit" name="decision" value="deny">Deny</button>
  </form>
</body></html>"""


def _oauth_error(error: str, description: str, status: int = 400):
    return jsonify({"error": error, "error_description": description}), status


@bp.get("/authorize")
def authorize():
    mc = double()
    params = {k: request.args.get(k, "") for k in ("response_type", "client_id", "redirect_uri")}
    params["state"] = request.args.get("state", "")
    if params["response_type"] != "code":
        return _oauth_error("unsupported_response_type", "response_type must be code")
    if params["client_id"] != mc.client_id:
        return _oauth_error("invalid_client", "Invalid client_id")
    if not params["redirect_uri"]:
        return _oauth_error("invalid_request", "redirect_uri is required")
    with mc.store.lock:
        logins = sorted(mc.store.accounts)
        if not logins:
            return _oauth_error("access_denied", "no Mailchimp account to sign in with")
        account = mc.store.accounts[mc.signed_in or logins[0]]
    if mc.auto_approve:
        return redirect(_approve(params, account.login))
    return render_template_string(
        ALLOW_PAGE, client_id=params["client_id"], account=account, logins=logins, params=params
    )


@bp.post("/authorize")
def approve():
    params = {k: request.form.get(k, "") for k in ("client_id", "redirect_uri", "state")}
    if request.form.get("decision") != "allow":
        query = urlencode({"error": "access_denied", "state": params["state"]})
        return redirect(f"{params['redirect_uri']}?{query}")
    login = request.form.get("login", "")
    if login not in double().store.accounts:
        return _oauth_error("access_denied", "unknown account")
    return redirect(_approve(params, login))


def _approve(params: dict[str, str], login: str) -> str:
    code = secrets.token_hex(16)
    with double().store.lock:
        double().store.codes[code] = (login, params["client_id"], params["redirect_uri"])
    query = {"code": code}
    if params.get("state"):
        query["state"] = params["state"]
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return params["redirect_uri"] + separator + urlencode(query)


@bp.post("/token")
def token():
    mc = double()
    form = request.form
    if form.get("grant_type") != "authorization_code":
        return _oauth_error("unsupported_grant_type", "grant_type must be authorization_code")
    if form.get("client_id") != mc.client_id or form.get("client_secret") != mc.client_secret:
        return _oauth_error("invalid_client", "Invalid client credentials", 401)
    with mc.store.lock:
        grant = mc.store.codes.pop(form.get("code", ""), None)
        if grant is None:
            return _oauth_error("invalid_grant", "Invalid authorization code")
        login, client_id, redirect_uri = grant
        if client_id != form.get("client_id") or redirect_uri != form.get("redirect_uri"):
            return _oauth_error("invalid_grant", "redirect_uri does not match")
        access_token = secrets.token_hex(16)
        mc.store.tokens[access_token] = login
    return jsonify({"access_token": access_token, "expires_in": 0, "scope": None})


@bp.get("/metadata")
def metadata():
    mc = double()
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    with mc.store.lock:
        login = mc.store.tokens.get(value.strip()) if scheme == "OAuth" else None
        if login is None:
            return jsonify({"error": "invalid_token", "error_description": "Invalid token"}), 401
        account = mc.store.accounts[login]
    return jsonify(
        {
            "dc": account.dc,
            "role": "owner",
            "accountname": account.name,
            "user_id": account.user_id,
            "login": {
                "email": account.email,
                "avatar": None,
                "login_id": account.user_id,
                "login_name": account.login,
                "login_email": account.email,
            },
            "login_url": mc.base_url,
            "api_endpoint": f"{mc.base_url}/{account.dc}",
        }
    )
