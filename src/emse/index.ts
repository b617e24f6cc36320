export { attachCoapApp, echoResource, helloResource, type Resource, type ResourceContext, type ResourceHandler } from './coap-app.js';
export { createEmseServer, defaultResources, type EmseServer, type EmseServerOptions, staticPskLookup } from './server.js';
