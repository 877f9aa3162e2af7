"""`LightSMSComponent`: the pipeline as a Dagster Component, configured by a `defs.yaml` in the
user's own Dagster project (`type: lightsms_pipeline.LightSMSComponent`; docs/component.md §1).

Its attributes are the settings' names in lower case without `LIGHTSMS_`, derived from
`Settings.model_fields`, so a new setting is an attribute without an edit here; they are checked
by `Settings` itself, so a value refused in `LIGHTSMS_TIMEZONE` is refused in `timezone:` with the
same words. Beside them: `login` or `login_env`, `api_key_env` and `accounts:`. A secret is never
an attribute: `api_key_env` (and `sender_hash_salt_env` for the salt) NAME the variable holding
it, which Dagster reads through `EnvVar` when a run starts (the salt: when the definitions load,
as `Settings.from_env` reads it), so a `defs.yaml` can be committed and reviewed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
from dagster import (
    Component,
    ComponentLoadContext,
    Definitions,
    EnvVar,
    ResolutionContext,
    Resolvable,
    Scaffolder,
    ScaffoldRequest,
    scaffold_component,
    scaffold_with,
)
from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model

from lightsms_pipeline import wiring
from lightsms_pipeline.accounts import Account, accounts_from_data
from lightsms_pipeline.assets.scope import SINGLE_ACCOUNT
from lightsms_pipeline.contract import DEFAULT_BASE_URL, DEFAULT_TIMEZONE
from lightsms_pipeline.errors import ConfigurationError
from lightsms_pipeline.resources import LightSMSResource
from lightsms_pipeline.settings import (
    API_KEY_VARIABLE,
    ENV_PREFIX,
    LOGIN_VARIABLE,
    REMOVED_IN,
    REMOVED_VARIABLES,
    SECRET_VARIABLES,
    Settings,
    did_you_mean,
    variable_name,
)

TYPE_NAME = "lightsms_pipeline.LightSMSComponent"
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Settings whose value is a secret: as attributes they become `<name>_env`, a variable's name.
SECRET_SETTINGS = tuple(n for n, f in Settings.model_fields.items() if f.annotation is SecretStr)
_SECRET_ENV_NAMES = tuple(f"{n}_env" for n in SECRET_SETTINGS)
CREDENTIAL_ATTRIBUTES = ("login", "login_env", "api_key_env")


def _attribute_fields() -> dict[str, Any]:
    """The attributes' fields: every setting (a secret one as `<name>_env`), then the account's.

    Types are the settings' own, widened to `str` where they are not, because a value may be a
    template (`"{{ env.PARALLELISM }}"`) until Dagster renders it; the settings' constraints and
    validators run after rendering, in `Settings`, so their messages are the settings' own."""
    fields: dict[str, Any] = {}
    for name, info in Settings.model_fields.items():
        variable = variable_name(name)
        if name in SECRET_SETTINGS:
            fields[f"{name}_env"] = (
                str,
                Field(
                    default=variable,
                    description=f"The NAME of the variable holding {name} (never the value).",
                ),
            )
            continue
        annotation: Any = info.annotation
        fields[name] = (
            annotation if annotation is str else annotation | str,
            Field(default=info.default, description=f"As the setting {variable} (README, Configuration)."),
        )
    fields["login"] = (
        str | None,
        Field(
            default=None,
            description=f"The LightSMS login; without it, read from login_env ({LOGIN_VARIABLE}).",
        ),
    )
    fields["login_env"] = (str, Field(default=LOGIN_VARIABLE, description="The variable holding the login."))
    fields["api_key_env"] = (
        str,
        Field(
            default=API_KEY_VARIABLE,
            description="The NAME of the variable holding the API key (never the key).",
        ),
    )
    fields["accounts"] = (  # each entry checked by the accounts file's own model, in its words
        list[Any] | None,
        Field(
            default=None, description="Several accounts, in the accounts file's format (docs/accounts.md)."
        ),
    )
    return fields


class _AttributesBase(BaseModel):
    """What `defs.yaml` may say under `attributes:`.

    Unknown names pass the model (and its JSON schema, which `dg check defs` checks first) to
    `LightSMSComponent.from_attributes`, which refuses each naming the nearest known one and its
    line: pydantic's refusal, or the schema's, would suggest no name, and pydantic's would show
    every value, one of which may be a key pasted by mistake."""

    model_config = ConfigDict(
        extra="allow",
        coerce_numbers_to_str=True,  # `login: 12345` is a login, not a number
        hide_input_in_errors=True,
    )


LightSMSAttributes: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "LightSMSAttributes", __base__=_AttributesBase, __module__=__name__, **_attribute_fields()
)


def _unknown_attribute(key: str, known: list[str]) -> str:
    """Why `key` is not an attribute, and what to write instead; a value is never shown."""
    if f"{key}_env" in known:
        return (
            f"{key} is not an attribute: a secret is never written in defs.yaml; put the NAME of the "
            f"variable that holds it in {key}_env"
        )
    if variable_name(key) in REMOVED_VARIABLES:
        why, _ = REMOVED_VARIABLES[variable_name(key)]
        return f"{key} was removed in {REMOVED_IN}: {why}. Delete the attribute."
    return f"{key} is not an attribute of {TYPE_NAME}{did_you_mean(key, known)}"


class _Where:
    """Where the attributes were written, for messages: the `defs.yaml` and the line of each."""

    def __init__(self, context: ResolutionContext | None) -> None:
        self._tree = context.source_position_tree if context is not None else None
        self._prefix: list[str | int] = list(context.path) if context is not None else []

    @property
    def file(self) -> str:
        return self._tree.position.filename if self._tree is not None else "defs.yaml"

    def line(self, *path: str | int) -> int | None:
        position = self._tree.lookup([*self._prefix, *path]) if self._tree is not None else None
        return position.start.line if position is not None else None

    def at(self, *path: str | int) -> str:
        """`/p/defs.yaml:7: ` for the attribute at `path`."""
        line = self.line(*path)
        return f"{self.file}:{line}: " if line is not None else f"{self.file}: "


def validated_settings(values: Mapping[str, Any], where: _Where | None = None) -> Settings:
    """`Settings` from attribute values, refused as `Settings.validated` refuses a variable: the
    same words, but naming the attribute (and its line) instead of the variable."""
    where = where or _Where(None)
    try:
        return Settings.model_validate(dict(values))
    except pydantic.ValidationError as error:
        problems = []
        for e in error.errors(include_url=False):
            name = str(e["loc"][0]) if e["loc"] else "?"
            message = str(e["msg"]).removeprefix("Value error, ")
            if name in SECRET_SETTINGS:  # the value of a secret is never shown
                problems.append(
                    f"{where.at(f'{name}_env')}{name} (from the variable {name}_env names): {message}"
                )
            else:
                problems.append(f"{where.at(name)}{name}={e['input']!r}: {message}")
        raise ConfigurationError("; ".join(problems)) from None


def _variable_attribute(values: Mapping[str, Any], name: str, default: str, where: _Where) -> str:
    """The variable named by `name` (e.g. `api_key_env`), checked to be a variable's name; the
    value is not shown, the likeliest mistake being the secret itself pasted in its place."""
    value = values.get(name, default)
    if not isinstance(value, str) or not _VARIABLE.fullmatch(value):
        raise ConfigurationError(
            f"{where.at(name)}{name} is not a variable name (the value is not shown); give the NAME "
            "of the environment variable holding it, e.g. ACME_LIGHTSMS_API_KEY"
        )
    if value.startswith(ENV_PREFIX) and value not in SECRET_VARIABLES and name not in _SECRET_ENV_NAMES:
        raise ConfigurationError(
            f"{where.at(name)}{name}={value!r} starts with {ENV_PREFIX}, which is reserved for settings; "
            "name the variable e.g. ACME_LIGHTSMS_API_KEY"
        )
    return value


SCAFFOLDED_DEFS_YAML = f"""\
# The LightSMS pipeline (lightsms-pipeline, docs/component.md). Attributes are the LIGHTSMS_*
# settings in lower case without the prefix; unset ones take the settings' defaults.
type: {{type_name}}

attributes:
  # The API key is never written here: api_key_env NAMES the variable that holds it, which
  # Dagster reads when a run starts. The login: `login: <your login>`, or a variable as here.
  login_env: {LOGIN_VARIABLE}
  api_key_env: {API_KEY_VARIABLE}
  base_url: {DEFAULT_BASE_URL}
  data_dir: data
  timezone: {DEFAULT_TIMEZONE}
  start_date: "{Settings.model_fields["start_date"].default}"
"""


class LightSMSScaffolder(Scaffolder):
    """`dg scaffold defs lightsms_pipeline.LightSMSComponent <path>`: a `defs.yaml` that loads as
    it is, for the real API, the credentials in LIGHTSMS_LOGIN / LIGHTSMS_API_KEY."""

    def scaffold(self, request: ScaffoldRequest) -> None:
        if request.scaffold_format != "yaml":
            scaffold_component(request)  # Dagster's own `component.py` for the Python format
            return
        request.target_path.mkdir(parents=True, exist_ok=True)
        text = SCAFFOLDED_DEFS_YAML.format(type_name=request.type_name)
        if request.append:
            with open(request.target_path, "a", encoding="utf-8") as f:
                f.write("---\n" + text)
        else:
            (request.target_path / "defs.yaml").write_text(text, encoding="utf-8")


@scaffold_with(LightSMSScaffolder)
class LightSMSComponent(Component, Resolvable):
    """LightSMS incoming SMS to exact Parquet datasets: the assets, jobs and schedules of one
    account, or of every account under `accounts:`. Attributes: the LIGHTSMS_* settings in lower
    case without the prefix, login or login_env, api_key_env (the NAME of the variable holding
    the key), accounts."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        login: str | None = None,
        login_env: str = LOGIN_VARIABLE,
        api_key_env: str = API_KEY_VARIABLE,
        accounts: Sequence[Account] = (),
        source: str = "defs.yaml",
    ) -> None:
        self.settings = settings or Settings()
        self.login = login
        self.login_env = login_env
        self.api_key_env = api_key_env
        self.accounts = tuple(accounts)
        self.source = source

    @classmethod
    def model(cls) -> type[BaseModel]:
        return LightSMSAttributes

    @classmethod
    def resolve_from_model(cls, context: ResolutionContext, model: BaseModel) -> LightSMSComponent:
        # Only what defs.yaml says, templates rendered ({{ env.X }}, {{ context.project_root }}):
        # the rest keeps the settings' defaults, checked by Settings with everything else.
        values = context.resolve_value(model.model_dump(exclude_unset=True))
        return cls.from_attributes(values, context)

    @classmethod
    def from_attributes(
        cls, values: Mapping[str, Any], context: ResolutionContext | None = None
    ) -> LightSMSComponent:
        """The component of rendered attribute `values`; `ConfigurationError` names the file,
        the line and the fix of each problem, in the words of the settings and accounts file."""
        where = _Where(context)
        known = list(LightSMSAttributes.model_fields)
        unknown = [f"{where.at(k)}{_unknown_attribute(str(k), known)}" for k in values if k not in known]
        if unknown:
            raise ConfigurationError("; ".join(unknown))
        settings_values = {k: v for k, v in values.items() if k in Settings.model_fields}
        for name in SECRET_SETTINGS:
            variable = _variable_attribute(values, f"{name}_env", variable_name(name), where)
            secret = os.environ.get(variable, "")  # the one read of it, as Settings.from_env's
            if secret:
                settings_values[name] = secret
        settings = validated_settings(settings_values, where)
        login_env = _variable_attribute(values, "login_env", LOGIN_VARIABLE, where)
        api_key_env = _variable_attribute(values, "api_key_env", API_KEY_VARIABLE, where)
        login = values.get("login")
        if login is not None and "login_env" in values:
            raise ConfigurationError(f"{where.at('login')}give login or login_env, not both")
        if login is not None and (not isinstance(login, str | int) or str(login) == ""):
            raise ConfigurationError(f"{where.at('login')}login must be the account's LightSMS login")
        given = [k for k in CREDENTIAL_ATTRIBUTES if k in values]
        several = values.get("accounts") is not None
        if (several or settings.accounts_file) and given:
            raise ConfigurationError(
                f"{where.at(given[0])}with several accounts each names its own login and api_key_env "
                f"(docs/accounts.md); remove {', '.join(given)}"
            )
        if several and settings.accounts_file:
            raise ConfigurationError(f"{where.at('accounts')}give accounts or accounts_file, not both")
        accounts: list[Account] = []
        if several and not isinstance(values["accounts"], list):
            raise ConfigurationError(
                f"{where.at('accounts')}accounts must be a list of accounts (docs/accounts.md)"
            )
        if several:
            lines = [where.line("accounts", i) for i in range(len(values["accounts"]))]
            accounts = accounts_from_data(
                {"accounts": values["accounts"]},
                settings,
                source=where.file,
                base=Path(where.file).parent if context is not None else Path.cwd(),
                lines=[n for n in lines if n is not None] if None not in lines else None,
            )
        return cls(
            settings,
            login=None if login is None else str(login),
            login_env=login_env,
            api_key_env=api_key_env,
            accounts=accounts,
            source=where.file,
        )

    def build_defs(self, context: ComponentLoadContext) -> Definitions:
        if self.accounts:
            return wiring.several_accounts(self.accounts, self.source, {})
        if self.settings.accounts_file:
            return wiring.build_definitions(self.settings)
        lightsms = LightSMSResource.from_settings(
            self.settings,
            login=self.login if self.login is not None else EnvVar(self.login_env),
            api_key=EnvVar(self.api_key_env),
            login_source=f"the login in {self.source}" if self.login is not None else self.login_env,
            key_source=self.api_key_env,
        )
        return wiring.account_definitions(self.settings, SINGLE_ACCOUNT, lightsms, {})
