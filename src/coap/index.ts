export { CoapClientSocket, type CoapClientRinfo } from './client-socket.js';
export { CoapSessionSocket, type CoapSessionInfo, looksLikeCoapRequest } from './server-socket.js';
