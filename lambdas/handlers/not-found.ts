// API Gateway's `$default` route: a request that no route of the table matches gets the JSON
// `not_found` error every other 404 has (the local server answers it from the same function),
// instead of API Gateway's own `{"message":"Not Found"}`. No table, no keys, no AWS SDK.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { unmatchedRoute } from '../shared/routes';

// No CORS headers here: the API's CORS configuration adds them to every answer (and preflight
// OPTIONS requests never reach a route).
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const { status, body } = unmatchedRoute(event.requestContext.http.method, event.rawPath);
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
};
