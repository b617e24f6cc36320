/**
 * The device (DESIGN.md §1, §2): a SIM file and its attach state, the keys derived from them, and
 * CoAP over DTLS-PSK to an EMSE with e2m_key as the pre-shared key.
 *
 * Re-attach rule: when an EMSE ends the handshake with unknown_psk_identity (115, DESIGN.md §6),
 * the EMKS no longer holds the kid (it keeps only the last few keys per subscriber); the UE then
 * attaches once more, if it knows the HSS, and retries the handshake once with the new kid.
 */
import { EventEmitter } from 'node:events';
import { DtlsClient, type DtlsClientSession, HandshakeError } from '../dtls/endpoint/client.js';
import type { RetransmitConfig } from '../dtls/fsm/retransmit.js';
import type { KeyLogWriter } from '../dtls/keylog.js';
import { AlertDescription } from '../dtls/wire/constants.js';
import { bestPskIdentity, deriveE2mKey } from '../kdf/index.js';
import { ConfigError, StackError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { SecretBytes } from '../util/secret.js';
import { attach, type AttachResult } from './attach.js';
import { type CoapMethod, type CoapResponse, exchange, type ExchangeRequest, observe } from './coap-exchange.js';
import { parseCoapsUrl, parseContentFormat } from './coap-url.js';
import { parseHssUrl } from './hss-http.js';
import type { CoapObservation } from './observation.js';
import { loadSim, readState, type Sim, type UeState } from './sim.js';

/** The UE has no attach state and no HSS to attach with. */
export class NotAttachedError extends StackError {
  readonly simPath: string;

  constructor(simPath: string) {
    super('E_NOT_ATTACHED', `no attach state for ${simPath}: attach first (with the HSS URL)`);
    this.simPath = simPath;
  }
}

export interface UeClientOptions {
  /** The SIM file; its state lives in `<simPath>.state.json`. */
  readonly simPath: string;
  /** hss-sim base URL: enables attach() and the automatic (re-)attach. */
  readonly hssUrl?: string | URL;
  /** DTLS flight retransmission (default RFC 6347 timing). */
  readonly retransmit?: RetransmitConfig;
  /** NSS key log for Wireshark. */
  readonly keyLog?: KeyLogWriter;
  /** Bound on each HTTP exchange with hss-sim, ms (default 5000). */
  readonly httpTimeoutMs?: number;
  /** Bound on the wait for a CoAP response, ms (default 93 s, MAX_TRANSMIT_WAIT of RFC 7252 §4.8.2). */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
}

/** What a DTLS client needs to reach one EMSE (DESIGN.md §3, §4). */
export interface UeKeys {
  readonly emseId: string;
  readonly kid: string;
  /** `e2m:<kid>:<application identity>`. */
  readonly pskIdentity: string;
  /** e2m_key = KDF(e2m_int_key, EMSE_Id, "e2m_key"), the 32-octet PSK. */
  readonly e2mKey: SecretBytes;
}

export interface UeRequest {
  /** `coaps://HOST[:PORT]/PATH[?QUERY]`. */
  readonly url: string;
  /** The EMSE's identity, to which e2m_key is bound. */
  readonly emseId: string;
  /** Default GET. */
  readonly method?: CoapMethod;
  readonly payload?: Uint8Array | string;
  /** Content-Format of the payload, by name (text/plain, application/json, …) or number. */
  readonly contentFormat?: string | number;
  readonly accept?: string | number;
  /** Register an observation (RFC 7641); GET only. */
  readonly observe?: boolean;
  /** Overrides UeClientOptions.requestTimeoutMs for this request. */
  readonly timeoutMs?: number;
}

export interface UeAttachEvent {
  readonly reason: 'initial' | 'reattach';
  readonly kid: string;
  /** For a re-attach: the kid the EMSE did not know. */
  readonly staleKid?: string;
}

/** RFC 7252 §4.8.2: MAX_TRANSMIT_WAIT with the default transmission parameters. */
const MAX_TRANSMIT_WAIT_MS = 93_000;
/** Largest payload accepted from a caller (Block1 carries it in 1024-octet blocks). */
const MAX_PAYLOAD_OCTETS = 1024 * 1024;

export class UeClient extends EventEmitter<{ attach: [UeAttachEvent] }> {
  readonly #sim: Sim;
  readonly #simPath: string;
  readonly #hssUrl: URL | undefined;
  readonly #options: UeClientOptions;
  readonly #logger: Logger;
  #state: UeState | undefined;
  #attaching: Promise<AttachResult> | undefined;

  /** Loads the SIM file and its state; throws ConfigError naming `sim`, `sim.<field>`, `state.<field>` or `hssUrl`. */
  constructor(options: UeClientOptions) {
    super();
    this.#options = options;
    this.#simPath = options.simPath;
    this.#logger = options.logger ?? silentLogger();
    this.#sim = loadSim(options.simPath);
    this.#state = readState(options.simPath, this.#sim);
    this.#hssUrl = options.hssUrl === undefined ? undefined : parseHssUrl(String(options.hssUrl), 'hssUrl');
  }

  /** The subscriber's IMSI (from the SIM file). */
  get imsi(): string {
    return this.#sim.imsi;
  }

  /** The application identity carried in psk_identity (from the SIM file). */
  get identity(): string {
    return this.#sim.identity;
  }

  /** The state of the last attach, if any. */
  get state(): UeState | undefined {
    return this.#state;
  }

  /** Attaches now (AKA with hss-sim) and keeps the new state. */
  async attach(): Promise<AttachResult> {
    return this.#attach('initial', undefined);
  }

  /** psk_identity, kid and e2m_key for `emseId`, from the current state; NotAttachedError without one. */
  keys(emseId: string): UeKeys {
    const state = this.#state;
    if (state === undefined) throw new NotAttachedError(this.#simPath);
    const pskIdentity = Buffer.from(bestPskIdentity(state.kid, this.#sim.identity)).toString('utf8');
    const key = deriveE2mKey(state.e2mIntKey, emseId);
    const e2mKey = new SecretBytes(key);
    key.fill(0);
    return { emseId, kid: state.kid, pskIdentity, e2mKey };
  }

  /**
   * A DTLS session with the EMSE `emseId` at host:port, applying the re-attach rule. Attaches first
   * when there is no state yet and an HSS is known. Rejects with HandshakeError (with `.alert`).
   */
  async connect(host: string, port: number, emseId: string): Promise<DtlsClientSession> {
    if (this.#state === undefined) {
      if (this.#hssUrl === undefined) throw new NotAttachedError(this.#simPath);
      await this.#attach('initial', undefined);
    }
    const usedKid = this.#state?.kid;
    try {
      return await this.#handshake(host, port, emseId);
    } catch (err) {
      if (!(err instanceof HandshakeError) || err.alert !== AlertDescription.unknown_psk_identity || this.#hssUrl === undefined) throw err;
      // A concurrent request may have re-attached already; then the new kid is simply tried.
      if (this.#state?.kid === usedKid) {
        this.#logger.info({ emse: `${host}:${port}`, kid: usedKid }, 'EMSE does not know the kid (unknown_psk_identity): re-attaching');
        await this.#attach('reattach', usedKid);
      }
      return this.#handshake(host, port, emseId);
    }
  }

  /**
   * One CoAP request over a fresh DTLS session (closed afterwards). With `observe: true` it resolves
   * with the observation once the first response is in; the observation then owns the session.
   */
  request(r: UeRequest & { readonly observe: true }): Promise<CoapObservation>;
  request(r: UeRequest & { readonly observe?: false }): Promise<CoapResponse>;
  request(r: UeRequest): Promise<CoapResponse | CoapObservation>;
  async request(r: UeRequest): Promise<CoapResponse | CoapObservation> {
    const ex = this.#exchangeRequest(r);
    const session = await this.connect(ex.target.host, ex.target.port, r.emseId);
    if (ex.observe) {
      try {
        return await observe(session, ex);
      } catch (err) {
        session.close();
        throw err;
      }
    }
    try {
      return await exchange(session, ex);
    } finally {
      session.close();
    }
  }

  #exchangeRequest(r: UeRequest): ExchangeRequest {
    const target = parseCoapsUrl(r.url, 'url');
    const method = r.method ?? 'GET';
    if (!['GET', 'POST', 'PUT', 'DELETE'].includes(method)) throw new ConfigError('method', `must be GET, POST, PUT or DELETE, got '${String(method)}'`);
    const observing = r.observe === true;
    if (observing && method !== 'GET') throw new ConfigError('observe', 'only a GET can be observed (RFC 7641 §2)');
    const payload = typeof r.payload === 'string' ? new Uint8Array(Buffer.from(r.payload, 'utf8')) : r.payload;
    if (payload !== undefined && payload.length > MAX_PAYLOAD_OCTETS) throw new ConfigError('payload', `larger than ${MAX_PAYLOAD_OCTETS} octets`);
    const timeoutMs = r.timeoutMs ?? this.#options.requestTimeoutMs ?? MAX_TRANSMIT_WAIT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError('timeoutMs', 'must be a positive number of ms');
    return {
      target,
      method,
      observe: observing,
      timeoutMs,
      ...(payload !== undefined ? { payload } : {}),
      ...(r.contentFormat !== undefined ? { contentFormat: parseContentFormat(r.contentFormat, 'contentFormat') } : {}),
      ...(r.accept !== undefined ? { accept: parseContentFormat(r.accept, 'accept') } : {}),
    };
  }

  async #handshake(host: string, port: number, emseId: string): Promise<DtlsClientSession> {
    const keys = this.keys(emseId);
    return DtlsClient.connect({
      host,
      port,
      identity: keys.pskIdentity,
      psk: keys.e2mKey,
      ...(this.#options.retransmit ? { retransmit: this.#options.retransmit } : {}),
      ...(this.#options.keyLog ? { keyLog: this.#options.keyLog } : {}),
    });
  }

  /** One attach at a time: concurrent callers share it. */
  #attach(reason: UeAttachEvent['reason'], staleKid: string | undefined): Promise<AttachResult> {
    if (this.#attaching) return this.#attaching;
    const hssUrl = this.#hssUrl;
    if (hssUrl === undefined) return Promise.reject(new ConfigError('hssUrl', 'needed to attach'));
    const run = async (): Promise<AttachResult> => {
      const result = await attach({
        hssUrl,
        sim: this.#sim,
        simPath: this.#simPath,
        ...(this.#options.httpTimeoutMs !== undefined ? { timeoutMs: this.#options.httpTimeoutMs } : {}),
      });
      this.#state = result.state;
      this.#logger.info({ imsi: result.imsi, kid: result.kid, resyncs: result.resyncs, reason }, 'attached');
      this.emit('attach', { reason, kid: result.kid, ...(staleKid !== undefined ? { staleKid } : {}) });
      return result;
    };
    this.#attaching = run().finally(() => {
      this.#attaching = undefined;
    });
    return this.#attaching;
  }
}
