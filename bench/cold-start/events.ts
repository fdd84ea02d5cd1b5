// Lambda events as API Gateway (REST v1 proxy, TOKEN authorizer) and SQS deliver them.
import type { APIGatewayProxyEvent, APIGatewayTokenAuthorizerEvent, SQSEvent } from "aws-lambda";

const API_HOST = "abc123.execute-api.eu-west-1.amazonaws.com";
const STAGE = "bench";
let requestCounter = 0;

export interface RestRequest {
  method: string;
  /** Path with values, e.g. /ai/sessions/abc. */
  path: string;
  /** The API Gateway resource template, e.g. /ai/sessions/{id} (defaults to the path). */
  resource?: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  token?: string;
  body?: unknown;
}

/** A REST API proxy event with both header shapes, as API Gateway sends it behind the TOKEN authorizer. */
export function restEvent(request: RestRequest): APIGatewayProxyEvent {
  requestCounter += 1;
  const headers: Record<string, string> = {
    Accept: "application/json, text/event-stream",
    "Accept-Encoding": "gzip, deflate, br",
    Host: API_HOST,
    Origin: "http://localhost:3000",
    "User-Agent": "collabry-bench/1.0",
    "X-Amzn-Trace-Id": `Root=1-00000000-${String(requestCounter).padStart(24, "0")}`,
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Proto": "https",
    ...(request.token ? { Authorization: `Bearer ${request.token}` } : {}),
    ...(request.body !== undefined ? { "Content-Type": "application/json" } : {}),
  };
  const resource = request.resource ?? request.path;
  const query = request.query ?? null;
  return {
    resource,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([name, value]) => [name, [value]]))
      : null,
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    body: request.body === undefined ? null : JSON.stringify(request.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      authorizer: request.token ? { principalId: "bench-user", userId: "bench-user", integrationLatency: 12 } : null,
      domainName: API_HOST,
      domainPrefix: "abc123",
      extendedRequestId: `ext-${requestCounter}`,
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: "203.0.113.7",
        user: null,
        userAgent: "collabry-bench/1.0",
        userArn: null,
      },
      path: `/${STAGE}${request.path}`,
      protocol: "HTTP/1.1",
      requestId: `req-${requestCounter}`,
      requestTime: "28/Nov/2026:14:00:00 +0000",
      requestTimeEpoch: Date.now(),
      resourceId: "abc1de",
      resourcePath: resource,
      stage: STAGE,
    },
  };
}

export function tokenAuthorizerEvent(token: string): APIGatewayTokenAuthorizerEvent {
  return {
    type: "TOKEN",
    authorizationToken: `Bearer ${token}`,
    methodArn: `arn:aws:execute-api:eu-west-1:123456789012:abc123/${STAGE}/GET/ai/sessions`,
  };
}

/** One SQS record carrying the documents service's ingest message. */
export function ingestSqsEvent(userId: string, documentId: string): SQSEvent {
  const body = JSON.stringify({ type: "ingest", user_id: userId, document_id: documentId });
  return {
    Records: [
      {
        messageId: `msg-${documentId}`,
        receiptHandle: "bench-receipt",
        body,
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: String(Date.now()),
          SenderId: "AROAEXAMPLE",
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:collabry-bench-ingest",
        awsRegion: "eu-west-1",
      },
    ],
  };
}
