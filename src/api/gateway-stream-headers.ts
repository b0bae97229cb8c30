/**
 * The response headers etcd 3.4's grpc-gateway sends on a streamed answer (watch, lease
 * keep-alive, snapshot), so gateway clients and browsers see what they see from etcd. One copy
 * for every streaming route.
 */
export const GATEWAY_STREAM_HEADERS = Object.freeze({
  'content-type': 'application/json',
  'grpc-metadata-content-type': 'application/grpc',
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
});
