/**
 * Options shared by the DTLS client and server, with their defaults. Everything that waits, draws
 * random numbers or writes files is injected (STYLE.md 5).
 */
import type { Rng } from '../../crypto/primitives.js';
import { randomBytes } from '../../crypto/primitives.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { type CipherSuite, cipherSuiteById } from '../ciphersuite/cipher-suite.js';
import type { KeyLogWriter } from '../keylog.js';
import { CipherSuiteId } from '../wire/constants.js';
import { checkRetransmitConfig, RETRANSMIT_DEFAULT, type RetransmitConfig } from '../fsm/retransmit.js';

/** Path MTU default: 1200 octets of UDP payload fit every IPv6 path (RFC 8200 §5 minus headers). */
export const DEFAULT_MTU = 1200;

export interface CommonOptions {
  /** Largest datagram we send, UDP payload octets. Default 1200. */
  mtu?: number;
  /** Cipher suites in order of preference; default CCM_8 then CCM. */
  cipherSuites?: readonly number[];
  /** Retransmission timing (RFC 6347 §4.2.4.1). */
  retransmit?: RetransmitConfig;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** Where NSS key-log lines go (for Wireshark), if anywhere. */
  keyLog?: KeyLogWriter | undefined;
}

export interface ResolvedCommon {
  readonly mtu: number;
  readonly cipherSuites: readonly CipherSuite[];
  readonly retransmit: RetransmitConfig;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly logger: Logger;
  readonly keyLog: KeyLogWriter | undefined;
}

const DEFAULT_SUITES = [CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8, CipherSuiteId.TLS_PSK_WITH_AES_128_CCM];

/** Fills in defaults and checks every field, throwing RangeError naming the bad option. */
export function resolveCommon(o: CommonOptions): ResolvedCommon {
  const mtu = o.mtu ?? DEFAULT_MTU;
  if (!Number.isInteger(mtu) || mtu < 256 || mtu > 65_507) throw new RangeError(`mtu must be an integer 256..65507, got ${mtu}`);
  const ids = o.cipherSuites ?? DEFAULT_SUITES;
  if (ids.length === 0) throw new RangeError('cipherSuites must not be empty');
  const cipherSuites = ids.map((id) => {
    const s = cipherSuiteById(id);
    if (s === undefined || s.keyExchange !== 'psk') throw new RangeError(`cipher suite 0x${id.toString(16)} is not supported`);
    return s;
  });
  return {
    mtu,
    cipherSuites,
    retransmit: checkRetransmitConfig(o.retransmit ?? RETRANSMIT_DEFAULT),
    clock: o.clock ?? systemClock,
    rng: o.rng ?? randomBytes,
    logger: o.logger ?? silentLogger(),
    keyLog: o.keyLog,
  };
}
