/** The UE role (DESIGN.md §2): SIM and state files, attach against hss-sim, and CoAP over DTLS-PSK to an EMSE. */
export { attach, AttachError, type AttachErrorCode, type AttachOptions, type AttachResult } from './attach.js';
export { CoapRequestError, type CoapMethod, type CoapResponse } from './coap-exchange.js';
export { COAPS_DEFAULT_PORT, CONTENT_FORMATS, type CoapsTarget, describeCoapCode, isTextFormat, parseCoapsUrl, parseContentFormat } from './coap-url.js';
export { HssHttpError, HssTransportError, parseHssUrl } from './hss-http.js';
export { CoapObservation, type CoapNotification } from './observation.js';
export { loadSim, readState, type Sim, statePathFor, type UeState, writeState } from './sim.js';
export { NotAttachedError, UeClient, type UeAttachEvent, type UeClientOptions, type UeKeys, type UeRequest } from './client.js';
