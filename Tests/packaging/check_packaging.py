#!/usr/bin/env python3
"""Checks docker-compose.yml and the Dockerfile's contract without a Docker engine.

Run by Tests/packaging/check.sh after hadolint. The compose file is read the way
`docker compose --env-file .env.example config` would read it: YAML (duplicate keys refused,
merge keys resolved), then ${...} interpolation from .env.example, then the Compose
Specification's JSON schema (the copy check-jsonschema ships), then Sluice's own rules:
images or builds, declared volumes, bind mounts that exist and are read-only, depends_on
targets with health checks, host ports, env files, the `temporal` profile, and the mounted
sluice.yaml files (adapters directory, ledger on a volume, engine and Kafka hosts that are
services of the same stack, every ${env:NAME} provided).

Exit status: 0 when every check passes, 1 when one fails, 2 when a tool is missing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

try:
    from importlib.resources import files as resource_files

    import jsonschema
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
except ImportError as error:  # pragma: no cover - reported, not tested
    print(f"error: {error.name} is missing: pip install check-jsonschema==0.39.0 (.ci/run installs it)", file=sys.stderr)
    sys.exit(2)


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []

    def check(self, condition: bool, what: str, problem: str = "") -> bool:
        if condition:
            self.passed += 1
        else:
            self.failures.append(f"{what}: {problem}" if problem else what)
            print(f"FAIL {what}" + (f": {problem}" if problem else ""))
        return condition


# --- .env files and interpolation -----------------------------------------------------------

ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = ENV_LINE.match(line)
        if not match:
            raise ValueError(f"{path.name}:{number}: not NAME=value")
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


class InterpolationError(Exception):
    pass


def interpolate(text: str, env: dict[str, str], where: str) -> str:
    """Compose's interpolation: $$, $NAME, ${NAME}, ${NAME:-d}, ${NAME-d}, ${NAME:?e}, ${NAME?e},
    ${NAME:+a}, ${NAME+a}; defaults may nest. An unset NAME without a default is an error here
    (compose would warn and use an empty string)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        if text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        if i + 1 < len(text) and text[i + 1] == "{":
            depth, j = 1, i + 2
            while j < len(text) and depth:
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                if text[j] == "}":
                    depth -= 1
                j += 1
            if depth:
                raise InterpolationError(f"{where}: unterminated ${{ in {text!r}")
            out.append(expand(text[i + 2 : j - 1], env, where))
            i = j
            continue
        match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text[i:])
        if match:
            out.append(expand(match.group(1), env, where))
            i += match.end()
            continue
        raise InterpolationError(f"{where}: a lone $ in {text!r} (write $$)")
    return "".join(out)


def expand(body: str, env: dict[str, str], where: str) -> str:
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", body, re.S)
    if not match:
        raise InterpolationError(f"{where}: invalid ${{{body}}}")
    name, operator, argument = match.groups()
    value = env.get(name)
    if operator is None:
        if value is None:
            raise InterpolationError(f"{where}: ${{{name}}} is not set in the env file and has no default")
        return value
    empty_counts = operator.startswith(":")
    unset = value is None or (empty_counts and value == "")
    kind = operator[-1]
    if kind == "-":
        return interpolate(argument, env, where) if unset else value
    if kind == "?":
        if unset:
            raise InterpolationError(f"{where}: {name}: {argument}")
        return value
    return "" if unset else interpolate(argument, env, where)  # "+"


def interpolate_tree(node, env: dict[str, str], path: str, errors: list[str]):
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env, f"{path}.{key}", errors) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(value, env, f"{path}[{index}]", errors) for index, value in enumerate(node)]
    if isinstance(node, str):
        try:
            return interpolate(node, env, path)
        except InterpolationError as error:
            errors.append(str(error))
            return node
    return node


# --- the Dockerfile -------------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        word, _, rest = pending.partition(" ")
        instructions.append((word.upper(), rest.strip()))
        pending = ""
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [index for index, (word, _) in enumerate(instructions) if word == "FROM"]
    return instructions[starts[-1] :] if starts else []


def check_dockerfile(path: Path, project: Path, report: Report) -> dict:
    """The contract docs/deployment.md promises, beyond hadolint's rules."""
    what = f"Dockerfile {path.name}"
    facts: dict = {"healthcheck": False, "expose": set(), "volumes": set()}
    if not report.check(path.is_file(), what, "not found"):
        return facts
    instructions = dockerfile_instructions(path)
    froms = [rest for word, rest in instructions if word == "FROM"]
    report.check(len(froms) >= 2, f"{what}: multi-stage", f"{len(froms)} FROM")
    report.check(any(re.match(r"swift:", rest) for rest in froms[:-1]), f"{what}: builds on the official swift image")
    report.check(bool(froms) and "bookworm-slim" in froms[-1], f"{what}: runs on a slim Debian bookworm image", froms[-1] if froms else "")
    build_runs = " ".join(rest for word, rest in instructions if word == "RUN")
    report.check(
        "swift build -c release --product sluice --static-swift-stdlib" in build_runs,
        f"{what}: release build of the sluice product with the static Swift stdlib",
    )
    stage = final_stage(instructions)
    runtime_runs = " ".join(rest for word, rest in stage if word == "RUN")
    for package in ("librdkafka1", "libssl3", "libsqlite3-0", "ca-certificates"):
        report.check(re.search(rf"\b{re.escape(package)}\b", runtime_runs) is not None, f"{what}: runtime installs {package}")
    users = [rest for word, rest in stage if word == "USER"]
    report.check(
        bool(users) and users[-1].split(":")[0] not in ("root", "0"), f"{what}: runs as a non-root USER", users[-1] if users else "no USER"
    )
    for word in ("ENTRYPOINT", "CMD"):
        values = [rest for w, rest in stage if w == word]
        exec_form = False
        if values:
            try:
                exec_form = isinstance(json.loads(values[-1]), list)
            except json.JSONDecodeError:
                exec_form = False
        report.check(exec_form, f"{what}: {word} in exec form (signals reach sluice as PID 1)", values[-1] if values else "missing")
    entry = [rest for w, rest in stage if w == "ENTRYPOINT"]
    try:
        entry_words = json.loads(entry[-1]) if entry else []
    except json.JSONDecodeError:
        entry_words = []
    report.check(entry_words[:1] == ["sluice"], f"{what}: ENTRYPOINT is sluice")
    healthchecks = [rest for w, rest in stage if w == "HEALTHCHECK"]
    facts["healthcheck"] = bool(healthchecks) and not healthchecks[-1].upper().startswith("NONE")
    report.check(facts["healthcheck"] and "/healthz" in healthchecks[-1], f"{what}: HEALTHCHECK probes /healthz")
    for rest in (rest for w, rest in stage if w == "EXPOSE"):
        facts["expose"].update(int(port.split("/")[0]) for port in rest.split())
    report.check(8080 in facts["expose"], f"{what}: EXPOSE 8080")
    for rest in (rest for w, rest in stage if w == "VOLUME"):
        try:
            declared = json.loads(rest)
        except json.JSONDecodeError:
            declared = rest.split()
        facts["volumes"].update(declared if isinstance(declared, list) else [declared])
    report.check(bool(facts["volumes"]), f"{what}: a VOLUME for the ledger")
    ignore = project / ".dockerignore"  # the build context's
    if report.check(ignore.is_file(), f"{what}: a .dockerignore in the build context"):
        lines = [line.strip() for line in ignore.read_text().splitlines() if line.strip() and not line.startswith("#")]
        report.check(
            (lines[:1] == ["*"] and "!.env" not in lines) or any(line in (".env", "**/.env") for line in lines),
            f"{what}: .dockerignore keeps .env out of the build context",
        )
    return facts


# --- compose --------------------------------------------------------------------------------

DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


def parse_port(entry) -> tuple[str | None, int | None]:
    """(published host port, container port) of a ports entry."""
    if isinstance(entry, dict):
        published = entry.get("published")
        return (str(published) if published is not None else None, int(entry["target"]))
    text = str(entry).split("/")[0]
    parts = text.rsplit(":", 2)
    container = parts[-1]
    host = parts[-2] if len(parts) >= 2 else None
    return host, int(container.split("-")[0])


def volume_entries(service: dict) -> list[dict]:
    """Short and long volume syntax as {type, source, target, read_only}."""
    entries = []
    for entry in service.get("volumes", []) or []:
        if isinstance(entry, dict):
            entries.append(
                {
                    "type": entry.get("type", "volume"),
                    "source": entry.get("source"),
                    "target": entry.get("target"),
                    "read_only": bool(entry.get("read_only")),
                }
            )
            continue
        parts = str(entry).split(":")
        if len(parts) == 1:
            entries.append({"type": "volume", "source": None, "target": parts[0], "read_only": False})
            continue
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        entries.append({"type": kind, "source": source, "target": target, "read_only": "ro" in mode.split(",")})
    return entries


def build_dockerfile(project: Path, build) -> Path:
    context = project / (build if isinstance(build, str) else build.get("context", "."))
    return (context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))).resolve()


class Images:
    """What the Dockerfiles that services build from declare (HEALTHCHECK, VOLUME)."""

    def __init__(self, project: Path, dockerfile: Path, facts: dict) -> None:
        # The project's Dockerfile may be replaced by the one under test (--dockerfile).
        self.project, self.known = project, {(project / "Dockerfile").resolve(): facts, dockerfile: facts}

    def facts(self, build) -> dict:
        path = build_dockerfile(self.project, build)
        if path not in self.known:
            stage = final_stage(dockerfile_instructions(path)) if path.is_file() else []
            checks = [rest for word, rest in stage if word == "HEALTHCHECK"]
            self.known[path] = {"healthcheck": bool(checks) and not checks[-1].upper().startswith("NONE"), "volumes": set()}
        return self.known[path]


def service_has_healthcheck(service: dict, images: Images) -> bool:
    healthcheck = service.get("healthcheck")
    if healthcheck is not None:
        if healthcheck.get("disable"):
            return False
        test = healthcheck.get("test")
        return bool(test) and test != ["NONE"]
    if service.get("build") is not None:
        return images.facts(service["build"])["healthcheck"]
    return False


def sluice_config_refs(text: str) -> set[str]:
    return set(re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", text))


def check_compose(compose_path: Path, project: Path, report: Report, images: Images) -> None:
    what = f"compose {compose_path.name}"
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        raw = yaml.load(compose_path.read_text())
    except YAMLError as error:
        report.check(False, f"{what}: YAML parses", " ".join(str(error).split("To suppress")[0].split()))
        return
    report.check(isinstance(raw, dict), f"{what}: YAML parses to a mapping")
    if not isinstance(raw, dict):
        return

    # Interpolation, from .env.example: what `docker compose --env-file .env.example config` sees.
    env_example = project / ".env.example"
    if not report.check(env_example.is_file(), f"{what}: .env.example exists"):
        return
    try:
        env = read_env_file(env_example)
    except ValueError as error:
        report.check(False, f"{what}: .env.example parses", str(error))
        return
    errors: list[str] = []
    model = interpolate_tree(raw, env, "", errors)
    report.check(not errors, f"{what}: every ${{...}} resolves from .env.example or a default", "; ".join(errors))

    # The Compose Specification's schema (JSON Schema 2020-12), as check-jsonschema vendors it.
    schema_file = resource_files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    schema_errors = sorted(validator_class(schema).iter_errors(model), key=lambda e: list(e.absolute_path))
    report.check(
        not schema_errors,
        f"{what}: valid against the Compose Specification schema",
        "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in schema_errors[:10]),
    )

    services: dict = model.get("services") or {}
    report.check(bool(services), f"{what}: has services")
    declared_volumes = set((model.get("volumes") or {}).keys())
    declared_networks = set((model.get("networks") or {}).keys()) | {"default"}
    used_volumes: set[str] = set()
    published: dict[str, str] = {}
    completed_targets = {
        target
        for service in services.values()
        for target, spec in (service.get("depends_on") or {}).items()
        if isinstance(spec, dict) and spec.get("condition") == "service_completed_successfully"
    }
    profiles_of = {name: set(service.get("profiles") or []) for name, service in services.items()}

    for name, service in services.items():
        where = f"{what}: service {name}"
        report.check("image" in service or "build" in service, f"{where}: has an image or a build")
        image = service.get("image", "")
        if "image" in service and "build" not in service:
            report.check(
                ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{where}: image has a pinned tag", image
            )
        build = service.get("build")
        if build is not None:
            context = project / (build if isinstance(build, str) else build.get("context", "."))
            report.check(context.is_dir(), f"{where}: build context exists", str(context))
            report.check(build_dockerfile(project, build).is_file(), f"{where}: Dockerfile exists")

        # Volumes: named ones declared, bind mounts present and read-only.
        for entry in volume_entries(service):
            if entry["type"] == "volume" and entry["source"]:
                used_volumes.add(entry["source"])
                report.check(entry["source"] in declared_volumes, f"{where}: volume {entry['source']} is declared")
            elif entry["type"] == "bind":
                source = (project / entry["source"]).resolve() if not entry["source"].startswith("/") else Path(entry["source"])
                report.check(source.exists(), f"{where}: bind mount {entry['source']} exists")
                report.check(entry["read_only"], f"{where}: bind mount {entry['source']} is read-only")
        networks = service.get("networks") or []
        for network in networks if isinstance(networks, list) else networks.keys():
            report.check(network in declared_networks, f"{where}: network {network} is declared")

        # Env files: present, or (for the git-ignored .env) its .example.
        env_files = service.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, (str, dict)) else env_files:
            file_path = env_file if isinstance(env_file, str) else env_file.get("path")
            candidate = project / file_path
            example = candidate.with_name(candidate.name + ".example")
            report.check(candidate.is_file() or example.is_file(), f"{where}: env_file {file_path} (or {file_path}.example) exists")

        # Ports: published ones unique across the whole file (both profiles may run together).
        for entry in service.get("ports") or []:
            host, container = parse_port(entry)
            report.check(container is not None and 0 < container < 65536, f"{where}: port {entry} parses")
            if host:
                report.check(host not in published, f"{where}: host port {host} is not also published by {published.get(host)}")
                published[host] = name

        # depends_on: targets exist, share a profile, and have what the condition waits for.
        for target, spec in (service.get("depends_on") or {}).items():
            condition = spec.get("condition", "service_started") if isinstance(spec, dict) else "service_started"
            if not report.check(target in services, f"{where}: depends on an existing service {target}"):
                continue
            mine, theirs = profiles_of[name], profiles_of[target]
            report.check(not theirs or bool(mine & theirs), f"{where}: {target} is started in every profile that starts {name}")
            if condition == "service_healthy":
                report.check(
                    service_has_healthcheck(services[target], images),
                    f"{where}: {target} has a healthcheck (condition service_healthy)",
                )

        # Health: every long-running service reports it (one-shot jobs excepted).
        one_shot = name in completed_targets and service.get("restart", "no") == "no"
        if not one_shot:
            report.check(service_has_healthcheck(service, images), f"{where}: has a healthcheck")
        healthcheck = service.get("healthcheck") or {}
        test = healthcheck.get("test")
        if test is not None:
            report.check(
                isinstance(test, str) or (bool(test) and test[0] in ("CMD", "CMD-SHELL", "NONE")),
                f"{where}: healthcheck test starts with CMD, CMD-SHELL or NONE",
            )
        for key in ("interval", "timeout", "start_period", "start_interval"):
            if key in healthcheck:
                report.check(bool(DURATION.match(str(healthcheck[key]))), f"{where}: healthcheck {key} is a duration", str(healthcheck[key]))

    report.check(not (declared_volumes - used_volumes), f"{what}: every declared volume is used", ", ".join(sorted(declared_volumes - used_volumes)))

    # No cycle in depends_on.
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> str | None:
        state[node] = 1
        for target in (services[node].get("depends_on") or {}):
            if target not in services:
                continue
            if state.get(target) == 1:
                return " -> ".join(trail + [node, target])
            if state.get(target) is None and (cycle := visit(target, trail + [node])):
                return cycle
        state[node] = 2
        return None

    cycles = [cycle for name in services if state.get(name) is None and (cycle := visit(name, []))]
    report.check(not cycles, f"{what}: depends_on has no cycle", "; ".join(cycles))

    check_sluice_services(what, model, project, env, report, images)


def check_sluice_services(what: str, model: dict, project: Path, env: dict[str, str], report: Report, images: Images) -> None:
    """The services built from ./Dockerfile run Sluice: check what they mount against sluice.yaml."""
    services = model["services"]
    sluices = {name: service for name, service in services.items() if "build" in service}
    report.check(bool(sluices), f"{what}: a Sluice service built from the Dockerfile")
    yaml = YAML(typ="safe", pure=True)
    engines_by_service: dict[str, set[str]] = {}
    env_refs_needed: set[str] = set()
    adapters_dir = project / "adapters"
    for adapter in sorted(adapters_dir.glob("*.yaml")):
        env_refs_needed |= sluice_config_refs(adapter.read_text())
    for name, service in sluices.items():
        where = f"{what}: service {name}"
        command = service.get("command") or []
        report.check(isinstance(command, list), f"{where}: command in list form", str(command))
        config_target = None
        if isinstance(command, list) and "--config" in command and command.index("--config") + 1 < len(command):
            config_target = command[command.index("--config") + 1]
        report.check(config_target is not None, f"{where}: command names --config")
        mounts = {entry["target"]: entry for entry in volume_entries(service)}
        config_mount = mounts.get(config_target)
        if not report.check(
            config_mount is not None and config_mount["type"] == "bind", f"{where}: {config_target} is mounted from the project"
        ):
            continue
        config_path = project / config_mount["source"]
        text = config_path.read_text()
        config = yaml.load(text) or {}
        env_refs_needed |= sluice_config_refs(text)
        base = str(Path(config_target).parent)
        adapters_target = str(Path(base) / config.get("adapters", "adapters"))
        adapters_mount = mounts.get(adapters_target)
        report.check(
            adapters_mount is not None and (project / adapters_mount["source"]).resolve() == adapters_dir.resolve(),
            f"{where}: ./adapters is mounted at {adapters_target}, where {config_mount['source']} looks for them",
        )
        ledger = config.get("ledger") or {}
        ledger_path = ledger.get("path", ".sluice/ledger.sqlite")
        ledger_path = ledger_path if ledger_path.startswith("/") else str(Path(base) / ledger_path)
        named = [t for t, entry in mounts.items() if entry["type"] == "volume" and ledger_path.startswith(t.rstrip("/") + "/")]
        report.check(
            ledger.get("type", "sqlite") != "sqlite" or bool(named), f"{where}: the SQLite ledger {ledger_path} is on a named volume"
        )
        image_volumes = images.facts(service["build"])["volumes"]
        report.check(
            all(target in image_volumes for target in named),
            f"{where}: the ledger volume is mounted where the image declares its VOLUME",
            f"{named} vs {sorted(image_volumes)}",
        )
        http = config.get("http") or {}
        report.check(http.get("host") == "0.0.0.0", f"{where}: Sluice listens on 0.0.0.0 inside the container", str(http.get("host")))
        container_ports = {parse_port(entry)[1] for entry in service.get("ports") or []}
        report.check(int(http.get("port", 8080)) in container_ports, f"{where}: the published port is sluice.yaml's http.port")
        depends = set((service.get("depends_on") or {}).keys())
        kinds = set()
        for engine_name, engine in (config.get("engines") or {}).items():
            kinds.add(engine.get("type"))
            host = re.sub(r"^https?://", "", str(engine.get("url", ""))).split("/")[0].split(":")[0]
            report.check(
                host in services and host in depends, f"{where}: engine {engine_name} ({host}) is a service it depends on"
            )
        engines_by_service[name] = kinds
        bootstrap = str((config.get("kafka") or {}).get("bootstrap_servers", ""))
        for server in filter(None, bootstrap.split(",")):
            host = server.strip().split(":")[0]
            report.check(host in services and host in depends, f"{where}: Kafka bootstrap server {host} is a service it depends on")
        env_files = service.get("env_file") or []
        report.check(bool(env_files), f"{where}: secrets come from an env_file")
    provided = set(env)
    for service in sluices.values():
        provided |= set((service.get("environment") or {}) if isinstance(service.get("environment"), dict) else [])
    missing = sorted(env_refs_needed - provided)
    report.check(not missing, f"{what}: every ${{env:NAME}} of the adapters and mounted configs is in .env.example", ", ".join(missing))

    # The two stacks: Durable Workflow by default, Temporal under the `temporal` profile.
    unprofiled = {name for name, service in sluices.items() if not service.get("profiles")}
    temporal = {name for name, service in sluices.items() if "temporal" in (service.get("profiles") or [])}
    report.check(
        any("durable-workflow" in engines_by_service.get(name, set()) for name in unprofiled),
        f"{what}: the default stack runs Sluice on Durable Workflow",
    )
    report.check(
        any(engines_by_service.get(name) == {"temporal"} for name in temporal), f"{what}: profile temporal runs Sluice on Temporal only"
    )
    temporal_servers = [
        name
        for name, service in services.items()
        if "temporal" in (service.get("profiles") or []) and str(service.get("image", "")).startswith("temporalio/")
    ]
    report.check(bool(temporal_servers), f"{what}: profile temporal has a Temporal server")
    dw_servers = [
        name for name, service in services.items() if not service.get("profiles") and "durableworkflow/server" in str(service.get("image", ""))
    ]
    report.check(bool(dw_servers), f"{what}: the default stack has the Durable Workflow server")

    gitignore = project / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.is_file() else []
    report.check(any(line.strip() in (".env", "/.env") for line in lines), f"{what}: .env is git-ignored")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", type=Path, required=True, help="the repository root")
    parser.add_argument("--compose", type=Path, help="default: PROJECT/docker-compose.yml")
    parser.add_argument("--dockerfile", type=Path, help="default: PROJECT/Dockerfile")
    arguments = parser.parse_args()
    project = arguments.project.resolve()
    compose = (arguments.compose or project / "docker-compose.yml").resolve()
    dockerfile = (arguments.dockerfile or project / "Dockerfile").resolve()
    report = Report()
    facts = check_dockerfile(dockerfile, project, report)
    check_compose(compose, project, report, Images(project, dockerfile, facts))
    failed = len(report.failures)
    print(f"packaging: {report.passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
