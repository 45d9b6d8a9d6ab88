import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from mcp_sync import MCPError

from .apps import McpSiteConfig


@require_GET
def tools(request: HttpRequest) -> JsonResponse:
    return JsonResponse([tool.name for tool in McpSiteConfig.client.list_tools()], safe=False)


@csrf_exempt
@require_POST
def call_tool(request: HttpRequest, name: str) -> JsonResponse:
    try:
        arguments = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "the body must be JSON"}, status=400)
    try:
        result = McpSiteConfig.client.call_tool(name, arguments)
    except MCPError as exc:
        return JsonResponse({"error": str(exc)}, status=502)
    body = {"text": result.text, "structured": result.structured, "is_error": result.is_error}
    return JsonResponse(body, status=422 if result.is_error else 200)
