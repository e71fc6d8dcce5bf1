"""Responses: models sent as they are."""

from fastapi.responses import Response
from pydantic import BaseModel


def model_response(content: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A model as JSON, serialised once by pydantic: a model returned to FastAPI is validated and
    serialised again on its way out. The route declares `response_model` for the contract."""
    return Response(content.model_dump_json(), status_code=status_code, headers=headers, media_type="application/json")
