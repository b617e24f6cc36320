export { attachCoapApp, echoResource, helloResource, type Resource, type ResourceContext, type ResourceHandler } from './coap-app.js';
export {
  createEmksPskLookup,
  EmksError,
  emksBaseUrl,
  type EmksLookupOptions,
  type EmksLookupStats,
  type EmksPskLookup,
  type EmksRegistration,
  isRetryableEmksError,
} from './emks-lookup.js';
export {
  createDefaultResources,
  createEmseServer,
  type DefaultResourceOptions,
  defaultResources,
  type EmseServer,
  type EmseServerOptions,
  staticPskLookup,
} from './server.js';
export { telemetryDevice, telemetryResource, type TelemetryOptions, type TelemetryReading, type TelemetryResource } from './telemetry.js';
export { timeResource, type TimeResource, type TimeResourceOptions } from './time.js';
