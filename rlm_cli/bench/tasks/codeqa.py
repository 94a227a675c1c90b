"""Code QA over a generated repository: which function does X, and which function calls it?

Every repository holds all the roles below, each defined once and called once from another
package, so the wrong options are real functions of the same repository. Multiple choice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rlm_cli.bench.items import Item
from rlm_cli.units import CHARS_PER_TOKEN

_PACKAGES = ("auth", "billing", "orders", "inventory", "shipping", "notifications", "reports",
             "storage", "api", "users", "search", "payments")
_SUBPACKAGES = ("core", "handlers", "services", "adapters", "jobs", "domain", "web", "internal",
                "models", "legacy", "tasks", "views")
_MODULES = ("service", "models", "utils", "client", "views", "tasks", "cache", "serializers",
            "repository", "events", "helpers", "schemas")
_VERBS = ("load", "save", "build", "parse", "format", "merge", "list", "count", "render", "sync",
          "fetch", "compute", "apply", "resolve", "normalize", "collect", "publish", "archive",
          "schedule", "update", "export", "import", "split", "group", "prepare", "refresh",
          "summarize", "match", "rank", "clean")
_NOUNS = ("order", "invoice", "customer", "cart", "report", "shipment", "item", "price", "discount",
          "address", "profile", "batch", "ledger", "receipt", "warehouse", "coupon", "refund",
          "subscription", "vendor", "catalog", "review", "message", "session_stats", "quota",
          "payout", "region", "schedule_slot", "parcel", "label", "feed")
_QUALIFIERS = ("", "", "", "_by_id", "_batch", "_for_user", "_from_row", "_legacy", "_v2", "_safe",
               "_rows", "_summary")
_FIELDS = ("amount", "weight", "quantity", "score", "price", "duration")


@dataclass(frozen=True)
class Role:
    """A behaviour one function of the repository has, described only by its code."""

    description: str
    names: tuple[str, ...]
    imports: tuple[str, ...]
    body: str


ROLES = (
    Role(
        "validates access tokens (checks their signature and expiry)",
        ("ensure_session", "check_bearer", "guard_request"),
        ("base64", "hashlib", "hmac", "json", "time"),
        '    header, payload, signature = raw.split(".")\n'
        '    expected = hmac.new(SECRET, f"{header}.{payload}".encode(), hashlib.sha256).hexdigest()\n'
        "    if not hmac.compare_digest(signature, expected):\n"
        '        raise PermissionError("bad signature")\n'
        '    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))\n'
        '    if claims["exp"] < time.time():\n'
        '        raise PermissionError("expired")\n'
        "    return claims\n",
    ),
    Role(
        "computes the sales tax of an invoice",
        ("apply_levy", "settle_amount", "finalize_total"),
        ("decimal",),
        '    rates = {"EU": decimal.Decimal("0.21"), "UK": decimal.Decimal("0.20"), "US": decimal.Decimal("0.07")}\n'
        "    subtotal = sum(decimal.Decimal(str(line.price)) * line.qty for line in raw.lines)\n"
        "    rate = rates.get(raw.region, decimal.Decimal(0))\n"
        '    return (subtotal * rate).quantize(decimal.Decimal("0.01"))\n',
    ),
    Role(
        "writes audit records to the audit log",
        ("remember_action", "trail_event", "note_change"),
        ("json", "time"),
        '    entry = {"at": time.time(), "actor": raw.actor, "action": raw.action, "target": raw.target}\n'
        '    with open(AUDIT_LOG_PATH, "a", encoding="utf-8") as log:\n'
        '        log.write(json.dumps(entry) + "\\n")\n'
        "    return entry\n",
    ),
    Role(
        "retries a failed payment with exponential backoff",
        ("persist_charge", "keep_trying", "charge_again"),
        ("random", "time"),
        "    for attempt in range(5):\n"
        "        outcome = gateway.charge(raw.card, raw.amount)\n"
        "        if outcome.ok:\n"
        "            return outcome\n"
        "        time.sleep(min(30, 2 ** attempt) + random.random())\n"
        '    raise RuntimeError("payment failed after 5 attempts")\n',
    ),
    Role(
        "hashes user passwords before they are stored",
        ("seal_secret", "protect_credential", "harden_phrase"),
        ("hashlib", "os"),
        "    salt = os.urandom(16)\n"
        '    digest = hashlib.pbkdf2_hmac("sha256", raw.encode(), salt, 600_000)\n'
        "    return salt.hex() + \"$\" + digest.hex()\n",
    ),
    Role(
        "decides whether an order qualifies for free shipping",
        ("waive_postage", "postage_exempt", "lighten_cart"),
        (),
        "    total = sum(line.price * line.qty for line in raw.lines)\n"
        '    if raw.country not in ("FR", "DE", "NL", "BE"):\n'
        "        return False\n"
        "    return total >= 50 or raw.customer.is_member\n",
    ),
)
_LETTERS = "ABCD"


@dataclass
class _Module:
    path: str
    imports: set[str] = field(default_factory=set)
    functions: list[str] = field(default_factory=list)

    @property
    def dotted(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")

    def render(self) -> str:
        stdlib = sorted(name for name in self.imports if not name.startswith("from "))
        local = sorted(name for name in self.imports if name.startswith("from "))
        head = [f'"""{self.dotted.split(".")[-1].capitalize()} of the {self.dotted.split(".")[1]} package."""', ""]
        head += [f"import {name}" for name in stdlib] + local
        return "\n".join(head) + "\n\n\n" + "\n\n".join(self.functions)


class _Repo:
    """The repository being generated: modules, and the function names already used."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.modules: list[_Module] = []
        self.paths: set[str] = set()
        self.names: set[str] = set()
        self.defined_in: dict[str, _Module] = {}
        self.chars = 0

    def new_module(self) -> _Module:
        rng = self.rng
        path = f"app/{rng.choice(_PACKAGES)}/{rng.choice(_SUBPACKAGES)}/{rng.choice(_MODULES)}.py"
        stem, serial = path.removesuffix(".py"), 2
        while path in self.paths:
            path, serial = f"{stem}_{serial}.py", serial + 1
        self.paths.add(path)
        module = _Module(path)
        self.modules.append(module)
        return module

    def fresh_name(self) -> str:
        rng = self.rng
        name = f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}{rng.choice(_QUALIFIERS)}"
        stem, serial = name, 2
        while name in self.names:
            name, serial = f"{stem}_{serial}", serial + 1
        self.names.add(name)
        return name

    def add(self, module: _Module, name: str, text: str) -> None:
        module.functions.append(text)
        self.defined_in[name] = module
        self.chars += len(text) + 2

    def call(self, caller: _Module, callee: str) -> None:
        home = self.defined_in[callee]
        if home is not caller:
            caller.imports.add(f"from {home.dotted} import {callee}")


def generate_codeqa(rng: random.Random, size: int, index: int) -> Item:
    """A repository; the question names a role and offers four (function, caller) options."""
    repo = _Repo(rng)
    # The roles, their callers and the import lines come on top of the filler functions.
    filler = size * CHARS_PER_TOKEN - sum(len(role.body) + 250 for role in ROLES)
    while repo.chars < filler or len(repo.modules) < 2:
        module = repo.new_module()
        for _ in range(rng.randint(3, 7)):
            _add_filler(repo, module)
    placed = [_place_role(repo, role) for role in ROLES]
    target = index % len(ROLES)
    decoy = rng.choice([i for i in range(len(ROLES)) if i != target])
    (fn, fn_path, caller, caller_path), (dfn, dfn_path, dcaller, dcaller_path) = placed[target], placed[decoy]
    options = [
        (fn, fn_path, caller, caller_path), (fn, fn_path, dcaller, dcaller_path),
        (dfn, dfn_path, caller, caller_path), (dfn, dfn_path, dcaller, dcaller_path),
    ]
    rng.shuffle(options)
    letter = _LETTERS[options.index(placed[target])]
    listed = "\n".join(
        f"{_LETTERS[i]}) {o[0]} in {o[1]}, called by {o[2]} in {o[3]}" for i, o in enumerate(options)
    )
    question = (
        f"Which function {ROLES[target].description}, and which function calls it?\n{listed}\n"
        "Answer with the letter of the right option."
    )
    files = {module.path: module.render() for module in sorted(repo.modules, key=lambda m: m.path)}
    meta = {"role": ROLES[target].description, "function": fn, "path": fn_path, "caller": caller, "caller_path": caller_path}
    return Item("codeqa", size, index, question, letter, "choice", files=files, meta=meta)


def _add_filler(repo: _Repo, module: _Module) -> None:
    rng = repo.rng
    name = repo.fresh_name()
    verb, noun = name.split("_", 1)
    arg = rng.choice(("rows", "records", "payload", "entries"))
    doc = f'    """{verb.capitalize()} the {noun.replace("_", " ")}."""\n'
    known = list(repo.defined_in)
    if known and rng.random() < 0.3:
        callee = rng.choice(known)
        repo.call(module, callee)
        body = (f"    result = {callee}({arg})\n    if not result:\n        return None\n"
                f'    return {{"{noun}": result, "source": "{module.dotted}"}}\n')
    else:
        key = rng.choice(_FIELDS)
        body = (f'    kept = [row for row in {arg} if row.get("{key}")]\n'
                f'    total = sum(row["{key}"] for row in kept)\n'
                '    return {"count": len(kept), "total": total}\n')
    repo.add(module, name, f"def {name}({arg}):\n{doc}{body}")


def _place_role(repo: _Repo, role: Role) -> tuple[str, str, str, str]:
    """Define the role's function in one module and its only caller in another package's module."""
    rng = repo.rng
    name = next(n for n in rng.sample(role.names, len(role.names)) if n not in repo.names)
    repo.names.add(name)
    home = rng.choice(repo.modules)
    home.imports.update(role.imports)
    repo.add(home, name, f"def {name}(raw):\n{role.body}")
    package = home.path.split("/")[1]
    callers = [m for m in repo.modules if m.path.split("/")[1] != package] or [m for m in repo.modules if m is not home]
    caller_module = rng.choice(callers)
    caller = repo.fresh_name()
    repo.call(caller_module, name)
    body = f'    data = {name}(request.payload)\n    return {{"ok": True, "data": data}}\n'
    repo.add(caller_module, caller, f'def {caller}(request):\n    """Serve a request."""\n{body}')
    return name, home.path, caller, caller_module.path
