"""The model clients the settings describe: one place builds them for the jobs and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.drafting.rewrite import LLMStatementWriter
from appliance.drafting.router import LLMSectionClassifier
from appliance.inference.llm import LLMClient
from appliance.inference.speech import SpeechClient
from appliance.settings import Settings


@dataclass(frozen=True)
class ConfiguredModels:
    speech: SpeechClient
    llm: LLMClient
    router: LLMSectionClassifier
    # Only for a model trusted to write (APPLIANCE_LLM_CLASS=writer); a router is never asked.
    writer: LLMStatementWriter | None


def configured_models(settings: Settings) -> ConfiguredModels:
    llm = LLMClient(settings.llm_url, settings.llm_model, settings.model_api_key)
    return ConfiguredModels(
        speech=SpeechClient(settings.speech_url, settings.speech_model, settings.model_api_key),
        llm=llm,
        router=LLMSectionClassifier(llm),
        writer=LLMStatementWriter(llm) if settings.llm_class == "writer" else None,
    )
