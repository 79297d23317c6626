# desc: Microsoft Graph answers 403 to GET /v1.0/$metadata
# expect: outbound.graph.metadata fail http-status (http); optional, so verdict degraded; exit 0
set_fault_file graph-403
