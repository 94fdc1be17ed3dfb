// API Gateway's `$default` route: a request that no route of the table matches gets the JSON
// `not_found` error every other 404 has (the local server answers it from the same functions),
// instead of API Gateway's own `{"message":"Not Found"}`. No table, no keys, no AWS SDK.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isPreflight, JSON_ANSWER_HEADERS, PREFLIGHT, unmatchedRoute } from '../shared/routes';

// No CORS headers here: the API's CORS configuration adds them to every answer and ignores a
// handler's own. A CORS preflight (OPTIONS) lands here too, as no route takes OPTIONS: it gets
// 204 with no body, to which API Gateway adds the allowed origins, methods and headers, so the
// dashboard's keyed requests may follow.
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const method = event.requestContext.http.method;
  if (isPreflight(method)) return { statusCode: PREFLIGHT.status, body: PREFLIGHT.body };
  const { status, body } = unmatchedRoute(method, event.rawPath);
  return {
    statusCode: status,
    headers: JSON_ANSWER_HEADERS,
    body: JSON.stringify(body),
  };
};
