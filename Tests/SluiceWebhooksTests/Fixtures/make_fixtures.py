#!/usr/bin/env python3
"""Generate the webhook verification fixtures with the providers' own libraries.

    pip install stripe standardwebhooks slack-sdk pynacl githubkit 'hishel<2'
    python3 make_fixtures.py            # writes verification/*.json beside this script

Every accepted case is signed by the provider's library and checked with that library's verifier
(with its clock pinned to the case's `now` where the library has a tolerance). Rejection cases are
derived from a genuine one by one change each (tampered body, wrong secret, stale or future
timestamp, a missing header, a malformed header) and labelled with the reason Sluice must give.
The published vectors from the providers' documentation are included and asserted here too.

A case: {name, config: {scheme, secrets, tolerance_seconds, header?, algorithm?, encoding?, prefix?,
timestamp_header?}, now (unix seconds), headers: [[name, value]], body (UTF-8 text), expect:
"verified" | "missing_header" | "bad_format" | "stale_timestamp" | "future_timestamp" |
"no_matching_signature"}.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import githubkit
import githubkit.webhooks as github_webhooks
import nacl.signing
import slack_sdk
import standardwebhooks
import stripe
from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook as StandardWebhook

OUT = Path(__file__).resolve().parent / "verification"
TS = 1_700_000_000
NOW = TS + 10
TOLERANCE = 300
BODY = '{"type":"order.created","data":{"id":"o-1","amount":42}}'
STRIPE_BODY = (
    '{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"checkout.session.completed",'
    '"data":{"object":{"id":"cs_1","payment_status":"paid","metadata":{"order_id":"order-1001"}}}}'
)


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ["stripe", "standardwebhooks", "slack-sdk", "githubkit", "pynacl"]
    return {name: version(name) for name in names} | {"python": sys.version.split()[0]}


def case(name, config, headers, body, expect, now=NOW):
    return {"name": name, "config": config, "now": now, "headers": headers, "body": body, "expect": expect}


def set_header(headers, name, value):
    out = [[n, v] for n, v in headers if n.lower() != name.lower()]
    if value is not None:
        out.append([name, value])
    return out


def rejections(valid, *, signature_header, timestamp_header=None, bad_signature_values=(), wrong_secret_config):
    """The standard set of one-change rejections of a genuine case."""
    out = []
    tampered = copy.deepcopy(valid)
    changed = valid["body"].replace("order", "ORDER", 1)
    assert changed != valid["body"], "the tampered body must differ"
    tampered.update(name="tampered body", body=changed, expect="no_matching_signature")
    out.append(tampered)
    out.append(case("wrong secret", wrong_secret_config, valid["headers"], valid["body"], "no_matching_signature"))
    out.append(
        case("missing signature header", valid["config"], set_header(valid["headers"], signature_header, None),
             valid["body"], "missing_header"))
    for label, value in bad_signature_values:
        out.append(
            case(f"malformed signature: {label}", valid["config"],
                 set_header(valid["headers"], signature_header, value), valid["body"], "bad_format"))
    if timestamp_header is not None:
        out.append(case("stale timestamp", valid["config"], valid["headers"], valid["body"], "stale_timestamp",
                        now=TS + TOLERANCE + 1))
        out.append(case("future timestamp", valid["config"], valid["headers"], valid["body"], "future_timestamp",
                        now=TS - TOLERANCE - 1))
        out.append(case("timestamp at the stale edge", valid["config"], valid["headers"], valid["body"], "verified",
                        now=TS + TOLERANCE))
        out.append(case("timestamp at the future edge", valid["config"], valid["headers"], valid["body"], "verified",
                        now=TS - TOLERANCE))
        if timestamp_header != signature_header:
            out.append(case("missing timestamp header", valid["config"],
                            set_header(valid["headers"], timestamp_header, None), valid["body"], "missing_header"))
            out.append(case("non-numeric timestamp", valid["config"],
                            set_header(valid["headers"], timestamp_header, "yesterday"), valid["body"], "bad_format"))
    return out


# MARK: - Stripe

def stripe_cases():
    secret = "whsec_test_secret"
    config = {"scheme": "stripe", "secrets": [secret], "tolerance_seconds": TOLERANCE}
    header = stripe.WebhookSignature.generate_signature_header(STRIPE_BODY, secret, timestamp=TS)
    with mock.patch("time.time", return_value=NOW):
        stripe.WebhookSignature.verify_header(STRIPE_BODY, header, secret, tolerance=TOLERANCE)
    # The published vector (peers-notes §2).
    published = stripe.WebhookSignature.generate_signature_header(BODY, secret, timestamp=TS)
    assert published == "t=1700000000,v1=caef516291703d080d514751ee3766b935a7d5d1db2f91c1e5bf0de80c553a98", published
    valid = case("genuine", config, [["Stripe-Signature", header]], STRIPE_BODY, "verified")
    old_secret = "whsec_old_rotated_out"
    old_header = stripe.WebhookSignature.generate_signature_header(STRIPE_BODY, old_secret, timestamp=TS)
    v1_old = old_header.split(",")[1]
    cases = [
        valid,
        case("published vector", config, [["Stripe-Signature", published]], BODY, "verified"),
        case("rotation: second secret signs", {**config, "secrets": [old_secret, secret]},
             [["Stripe-Signature", header]], STRIPE_BODY, "verified"),
        case("rotation: several v1 signatures, one matches", config,
             [["Stripe-Signature", f"{header},{v1_old}"]], STRIPE_BODY, "verified"),
        case("v0 signature only", config, [["Stripe-Signature", header.replace("v1=", "v0=")]], STRIPE_BODY,
             "bad_format"),
        case("no t= element", config, [["Stripe-Signature", header.split(",", 1)[1]]], STRIPE_BODY, "bad_format"),
    ]
    cases += rejections(
        valid, signature_header="Stripe-Signature", timestamp_header="Stripe-Signature",
        bad_signature_values=[("empty", ""), ("garbage", "nonsense"), ("non-hex v1", f"t={TS},v1=zz{'0' * 62}"),
                              ("t not a number", "t=abc,v1=" + "0" * 64)],
        wrong_secret_config={**config, "secrets": ["whsec_wrong"]})
    # The whole `whsec_…` string is the key: signing with the base64-decoded part must not verify.
    key_only = hmac.new(base64.b64decode("test_secret" + "=="), f"{TS}.{STRIPE_BODY}".encode(), hashlib.sha256)
    cases.append(case("key is the whole whsec_ string", config,
                      [["Stripe-Signature", f"t={TS},v1={key_only.hexdigest()}"]], STRIPE_BODY,
                      "no_matching_signature"))
    return cases


# MARK: - GitHub

def github_cases():
    secret = "It's a Secret to Everybody"
    config = {"scheme": "github", "secrets": [secret], "tolerance_seconds": TOLERANCE}
    signature = github_webhooks.sign(secret, BODY, "sha256")
    assert github_webhooks.verify(secret, BODY, signature)
    published = github_webhooks.sign(secret, "Hello, World!", "sha256")
    assert published == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", published
    headers = [["X-GitHub-Event", "push"], ["X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"],
               ["X-Hub-Signature-256", signature]]
    valid = case("genuine", config, headers, BODY, "verified")
    sha1 = github_webhooks.sign(secret, BODY, "sha1")
    cases = [
        valid,
        case("published vector", config, [["X-Hub-Signature-256", published]], "Hello, World!", "verified"),
        case("rotation: second secret signs", {**config, "secrets": ["old", secret]}, headers, BODY, "verified"),
        case("sha1 header only", config, set_header(headers, "X-Hub-Signature-256", None) + [
            ["X-Hub-Signature", sha1]], BODY, "missing_header"),
        case("uppercase hex accepted", config, set_header(headers, "X-Hub-Signature-256",
                                                          "sha256=" + signature[7:].upper()), BODY, "verified"),
    ]
    cases += rejections(
        valid, signature_header="X-Hub-Signature-256",
        bad_signature_values=[("no prefix", signature[7:]), ("sha1 prefix", "sha1=" + signature[7:]),
                              ("short hex", "sha256=abcd"), ("non-hex", "sha256=" + "g" * 64)],
        wrong_secret_config={**config, "secrets": ["not it"]})
    return cases


# MARK: - Shopify (its docs: base64 of HMAC-SHA256 of the raw body, keyed by the app's client secret)

def shopify_cases():
    secret = "hush-shopify-client-secret"
    config = {"scheme": "shopify", "secrets": [secret], "tolerance_seconds": TOLERANCE}
    digest = base64.b64encode(hmac.new(secret.encode(), BODY.encode(), hashlib.sha256).digest()).decode()
    headers = [["X-Shopify-Topic", "orders/create"], ["X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"],
               ["X-Shopify-Hmac-Sha256", digest]]
    valid = case("genuine", config, headers, BODY, "verified")
    cases = [valid,
             case("rotation: second secret signs", {**config, "secrets": ["old", secret]}, headers, BODY, "verified")]
    cases += rejections(
        valid, signature_header="X-Shopify-Hmac-Sha256",
        bad_signature_values=[("not base64", "%%%not-base64%%%"), ("hex instead of base64",
                                                                   hmac.new(secret.encode(), BODY.encode(),
                                                                            hashlib.sha256).hexdigest())],
        wrong_secret_config={**config, "secrets": ["other"]})
    return cases


# MARK: - Slack

def slack_cases():
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    config = {"scheme": "slack", "secrets": [secret], "tolerance_seconds": TOLERANCE}
    verifier = SignatureVerifier(secret, clock=FixedClock(NOW))
    signature = verifier.generate_signature(timestamp=str(TS), body=BODY)
    assert verifier.is_valid(BODY, str(TS), signature)
    assert signature == "v0=259dceabe304bd31dfa4c3358c347a74dca84500204887e95aefaf5ba4f2f99b", signature
    headers = [["X-Slack-Request-Timestamp", str(TS)], ["X-Slack-Signature", signature]]
    valid = case("genuine", config, headers, BODY, "verified")
    published_body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
                      "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
                      "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmib"
                      "IGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    published_ts = 1531420618
    published = SignatureVerifier(secret).generate_signature(timestamp=str(published_ts), body=published_body)
    assert published == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", published
    challenge_body = ('{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tY'
                      'XAYM8P","type":"url_verification"}')
    challenge_sig = verifier.generate_signature(timestamp=str(TS), body=challenge_body)
    cases = [
        valid,
        case("published vector", config, [["X-Slack-Request-Timestamp", str(published_ts)],
                                          ["X-Slack-Signature", published]], published_body, "verified",
             now=published_ts + 1),
        case("url_verification challenge", config, [["X-Slack-Request-Timestamp", str(TS)],
                                                    ["X-Slack-Signature", challenge_sig]], challenge_body, "verified"),
        case("rotation: second secret signs", {**config, "secrets": ["old", secret]}, headers, BODY, "verified"),
    ]
    cases += rejections(
        valid, signature_header="X-Slack-Signature", timestamp_header="X-Slack-Request-Timestamp",
        bad_signature_values=[("no v0 prefix", signature[3:]), ("v1 prefix", "v1=" + signature[3:]),
                              ("non-hex", "v0=" + "x" * 64)],
        wrong_secret_config={**config, "secrets": ["wrong"]})
    # The signature covers the timestamp: a fresh timestamp on an old signature does not verify.
    cases.append(case("timestamp replaced", config, set_header(headers, "X-Slack-Request-Timestamp", str(TS + 5)),
                      BODY, "no_matching_signature"))
    return cases


class FixedClock:
    def __init__(self, now):
        self._now = now

    def now(self):
        return float(self._now)


# MARK: - Standard Webhooks

def standard_cases():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    config = {"scheme": "standard-webhooks", "secrets": [secret], "tolerance_seconds": TOLERANCE}
    webhook = StandardWebhook(secret)
    signature = webhook.sign(msg_id, datetime.fromtimestamp(TS, tz=timezone.utc), BODY)
    assert signature == "v1,PJ4HCbIR3vUgTMrgxFDnEBwOUR0Rwa4E51T99rpRX2w=", signature
    headers = [["webhook-id", msg_id], ["webhook-timestamp", str(TS)], ["webhook-signature", signature]]
    with mock.patch("standardwebhooks.webhooks.datetime", wraps=datetime) as patched:
        patched.now.return_value = datetime.fromtimestamp(NOW, tz=timezone.utc)
        webhook.verify(BODY, dict(headers))
    published_ts = 1614265330
    published_body = '{"test": 2432232314}'
    published = webhook.sign(msg_id, datetime.fromtimestamp(published_ts, tz=timezone.utc), published_body)
    assert published == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", published
    valid = case("genuine v1", config, headers, BODY, "verified")
    other = StandardWebhook("whsec_" + base64.b64encode(b"another secret of 24 byt").decode())
    other_sig = other.sign(msg_id, datetime.fromtimestamp(TS, tz=timezone.utc), BODY)

    # v1a: Ed25519 over the same `id.timestamp.body`, keys as the spec writes them (whsk_ / whpk_).
    signing_key = nacl.signing.SigningKey(bytes(range(32)))
    public_key = "whpk_" + base64.b64encode(bytes(signing_key.verify_key)).decode()
    signed = signing_key.sign(f"{msg_id}.{TS}.{BODY}".encode())
    v1a = "v1a," + base64.b64encode(signed.signature).decode()
    signing_key.verify_key.verify(signed)
    v1a_config = {**config, "secrets": [public_key]}
    v1a_headers = set_header(headers, "webhook-signature", v1a)
    stranger = nacl.signing.SigningKey(bytes(range(1, 33)))
    stranger_sig = "v1a," + base64.b64encode(stranger.sign(f"{msg_id}.{TS}.{BODY}".encode()).signature).decode()

    cases = [
        valid,
        case("published vector", config, [["webhook-id", msg_id], ["webhook-timestamp", str(published_ts)],
                                          ["webhook-signature", published]], published_body, "verified",
             now=published_ts),
        case("several signatures, space-separated, one matches", config,
             set_header(headers, "webhook-signature", f"{other_sig} {signature}"), BODY, "verified"),
        case("rotation: second secret signs", {**config, "secrets": ["whsec_" + base64.b64encode(
            b"another secret of 24 byt").decode(), secret]}, headers, BODY, "verified"),
        case("unknown version ignored, v1 matches", config,
             set_header(headers, "webhook-signature", f"v9,AAAA {signature}"), BODY, "verified"),
        case("id is signed", config, set_header(headers, "webhook-id", "msg_other"), BODY, "no_matching_signature"),
        case("missing webhook-id", config, set_header(headers, "webhook-id", None), BODY, "missing_header"),
        case("signature without a version", config, set_header(headers, "webhook-signature", signature[3:]), BODY,
             "bad_format"),
        case("only unknown versions", config, set_header(headers, "webhook-signature", "v9,AAAA"), BODY,
             "no_matching_signature"),
        case("v1a genuine", v1a_config, v1a_headers, BODY, "verified"),
        case("v1a and v1 keys together", {**config, "secrets": [secret, public_key]}, v1a_headers, BODY, "verified"),
        case("v1a tampered body", v1a_config, v1a_headers, BODY.replace("order", "ORDER"), "no_matching_signature"),
        case("v1a from another key", v1a_config, set_header(headers, "webhook-signature", stranger_sig), BODY,
             "no_matching_signature"),
        case("v1a stale", v1a_config, v1a_headers, BODY, "stale_timestamp", now=TS + TOLERANCE + 1),
        case("v1a future", v1a_config, v1a_headers, BODY, "future_timestamp", now=TS - TOLERANCE - 1),
        case("v1a signature is not base64", v1a_config, set_header(headers, "webhook-signature", "v1a,@@@@"), BODY,
             "bad_format"),
        case("v1 signature with only a public key", v1a_config, headers, BODY, "no_matching_signature"),
    ]
    cases += rejections(
        valid, signature_header="webhook-signature", timestamp_header="webhook-timestamp",
        bad_signature_values=[("v1 not base64", "v1,%%%"), ("empty", "")],
        wrong_secret_config={**config, "secrets": ["whsec_" + base64.b64encode(b"wrong").decode()]})
    return cases


# MARK: - Generic HMAC (Python's hmac; no provider library defines it)

def generic_cases():
    secret = "generic-shared-secret"
    cases = []
    for algorithm, digestmod in (("sha256", hashlib.sha256), ("sha512", hashlib.sha512)):
        for encoding in ("hex", "base64"):
            mac = hmac.new(secret.encode(), BODY.encode(), digestmod).digest()
            text = mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()
            config = {"scheme": "hmac", "secrets": [secret], "tolerance_seconds": TOLERANCE,
                      "header": "X-Signature", "algorithm": algorithm, "encoding": encoding, "prefix": ""}
            cases.append(case(f"{algorithm} {encoding}", config, [["X-Signature", text]], BODY, "verified"))
    prefixed = {"scheme": "hmac", "secrets": [secret], "tolerance_seconds": TOLERANCE, "header": "X-Acme-Signature",
                "algorithm": "sha256", "encoding": "hex", "prefix": "sha256=", "timestamp_header": "X-Acme-Timestamp"}
    mac = hmac.new(secret.encode(), f"{TS}.{BODY}".encode(), hashlib.sha256).hexdigest()
    valid = case("prefix and timestamp", prefixed, [["X-Acme-Timestamp", str(TS)],
                                                    ["X-Acme-Signature", "sha256=" + mac]], BODY, "verified")
    cases.append(valid)
    cases += rejections(
        valid, signature_header="X-Acme-Signature", timestamp_header="X-Acme-Timestamp",
        bad_signature_values=[("missing prefix", mac), ("non-hex", "sha256=" + "q" * 64)],
        wrong_secret_config={**prefixed, "secrets": ["nope"]})
    return cases


# MARK: - Bearer token

def bearer_cases():
    config = {"scheme": "bearer", "secrets": ["s3cr3t-token", "next-token"], "tolerance_seconds": TOLERANCE}
    return [
        case("first token", config, [["Authorization", "Bearer s3cr3t-token"]], BODY, "verified"),
        case("rotated token", config, [["Authorization", "Bearer next-token"]], BODY, "verified"),
        case("scheme is case-insensitive", config, [["Authorization", "bearer s3cr3t-token"]], BODY, "verified"),
        case("wrong token", config, [["Authorization", "Bearer s3cr3t-tokem"]], BODY, "no_matching_signature"),
        case("prefix of a token", config, [["Authorization", "Bearer s3cr3t"]], BODY, "no_matching_signature"),
        case("missing header", config, [], BODY, "missing_header"),
        case("basic auth", config, [["Authorization", "Basic czNjcjN0LXRva2Vu"]], BODY, "bad_format"),
        case("empty token", config, [["Authorization", "Bearer "]], BODY, "bad_format"),
    ]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in [("stripe", stripe_cases), ("github", github_cases), ("shopify", shopify_cases),
                       ("slack", slack_cases), ("standard-webhooks", standard_cases), ("hmac", generic_cases),
                       ("bearer", bearer_cases)]:
        cases = make()
        names = [c["name"] for c in cases]
        assert len(names) == len(set(names)), f"{name}: duplicate case names"
        document = {"scheme": name, "generated_by": "make_fixtures.py", "libraries": versions(), "cases": cases}
        (OUT / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")
        print(f"{name}: {len(cases)} cases")


if __name__ == "__main__":
    main()
