export { CoapSessionSocket, type CoapSessionInfo, looksLikeCoapRequest } from './server-socket.js';
