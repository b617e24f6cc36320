/**
 * Milenage, the 3GPP example algorithm set for f1, f1*, f2, f3, f4, f5 and f5* (TS 35.206 §4),
 * with AES-128 as the kernel function E (TS 35.206 §3). Pure functions, no state.
 *
 *   OPc  = OP ⊕ E[OP]K                                              (§4.1)
 *   TEMP = E[RAND ⊕ OPc]K
 *   IN1  = SQN ‖ AMF ‖ SQN ‖ AMF
 *   OUT1 = E[TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1]K ⊕ OPc
 *   OUTi = E[rot(TEMP ⊕ OPc, ri) ⊕ ci]K ⊕ OPc                     (i = 2..5)
 *   f1 = OUT1[0..63]   f1* = OUT1[64..127]   f5 = OUT2[0..47]   f2 = OUT2[64..127]
 *   f3 = OUT3          f4 = OUT4             f5* = OUT5[0..47]
 */
import { aes128Keyed } from '../crypto/index.js';
import { concat, xor } from '../util/index.js';
import { AKA_LENGTHS as L, checkBytes, checkKey, type KeyInput } from './check.js';

/** Rotation amounts r1..r5 in bits (TS 35.206 §4.1, default values). */
const ROTATION = { r1: 64, r2: 0, r3: 32, r4: 64, r5: 96 } as const;

/**
 * Constants c1..c5 (TS 35.206 §4.1): 128-bit values that are zero except for the last octet,
 * c1 = 0…0, c2 = 0…01, c3 = 0…02, c4 = 0…04, c5 = 0…08.
 */
const CONSTANT_LAST_OCTET = { c1: 0x00, c2: 0x01, c3: 0x02, c4: 0x04, c5: 0x08 } as const;

/** The outputs of f2, f3, f4 and f5 for one RAND (TS 35.206 §4.1). */
export interface F2345 {
  /** RES (XRES on the network side), f2, 64 bits. */
  readonly res: Uint8Array;
  /** CK, f3, 128 bits. */
  readonly ck: Uint8Array;
  /** IK, f4, 128 bits. */
  readonly ik: Uint8Array;
  /** AK, f5, 48 bits. */
  readonly ak: Uint8Array;
}

/** Inputs of a full Milenage run. */
export interface MilenageInput {
  /** Subscriber key K, 16 octets. */
  readonly k: KeyInput;
  /** OPc, 16 octets (see computeOpc). */
  readonly opc: KeyInput;
  /** RAND, 16 octets. */
  readonly rand: Uint8Array;
  /** SQN, 6 octets. */
  readonly sqn: Uint8Array;
  /** AMF, 2 octets. */
  readonly amf: Uint8Array;
}

/** All seven Milenage outputs for one set of inputs. */
export interface MilenageOutput extends F2345 {
  /** MAC-A, f1, 64 bits. */
  readonly macA: Uint8Array;
  /** MAC-S, f1*, 64 bits. */
  readonly macS: Uint8Array;
  /** AK*, f5*, 48 bits (resynchronisation). */
  readonly akStar: Uint8Array;
}

/** The per-(K, OPc, RAND) state shared by all functions: the keyed kernel and TEMP. */
interface Kernel {
  readonly e: (block: Uint8Array) => Uint8Array;
  readonly opc: Uint8Array;
  readonly temp: Uint8Array;
}

/** rot(x, r): x cyclically rotated by r bits towards the most significant bit (TS 35.206 §4.1). */
function rot(x: Uint8Array, bits: number): Uint8Array {
  const n = bits / 8; // every ri of §4.1 is a whole number of octets
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = x[(i + n) % 16] as number;
  return out;
}

function constant(lastOctet: number): Uint8Array {
  const c = new Uint8Array(16);
  c[15] = lastOctet;
  return c;
}

function kernel(k: Uint8Array, opc: Uint8Array, rand: Uint8Array): Kernel {
  const e = aes128Keyed(k);
  return { e, opc, temp: e(xor(rand, opc)) };
}

/** OUT1 (TS 35.206 §4.1), from which f1 and f1* are taken. */
function out1(kn: Kernel, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
  const in1 = concat(sqn, amf, sqn, amf);
  const x = xor(xor(kn.temp, rot(xor(in1, kn.opc), ROTATION.r1)), constant(CONSTANT_LAST_OCTET.c1));
  return xor(kn.e(x), kn.opc);
}

/** OUT2..OUT5 (TS 35.206 §4.1). */
function outI(kn: Kernel, r: number, cLast: number): Uint8Array {
  const x = xor(rot(xor(kn.temp, kn.opc), r), constant(cLast));
  return xor(kn.e(x), kn.opc);
}

function f2345From(kn: Kernel): F2345 {
  const out2 = outI(kn, ROTATION.r2, CONSTANT_LAST_OCTET.c2);
  return {
    res: out2.slice(8, 16),
    ck: outI(kn, ROTATION.r3, CONSTANT_LAST_OCTET.c3),
    ik: outI(kn, ROTATION.r4, CONSTANT_LAST_OCTET.c4),
    ak: out2.slice(0, 6),
  };
}

function f5starFrom(kn: Kernel): Uint8Array {
  return outI(kn, ROTATION.r5, CONSTANT_LAST_OCTET.c5).slice(0, 6);
}

function checkedKernel(k: KeyInput, opc: KeyInput, rand: Uint8Array): Kernel {
  return kernel(checkKey(k, L.k, 'k'), checkKey(opc, L.opc, 'opc'), checkBytes(rand, L.rand, 'rand'));
}

function checkedOut1(k: KeyInput, opc: KeyInput, rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
  const kn = checkedKernel(k, opc, rand);
  return out1(kn, checkBytes(sqn, L.sqn, 'sqn'), checkBytes(amf, L.amf, 'amf'));
}

/** OPc = OP ⊕ E[OP]K (TS 35.206 §4.1): the operator variant value derived for one subscriber. */
export function computeOpc(k: KeyInput, op: Uint8Array): Uint8Array {
  const key = checkKey(k, L.k, 'k');
  const o = checkBytes(op, L.op, 'op');
  return xor(aes128Keyed(key)(o), o);
}

/** f1: the network authentication function, MAC-A = OUT1[0..63] (TS 35.206 §4.1, TS 33.102 §6.3.2). */
export function f1(k: KeyInput, opc: KeyInput, rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
  return checkedOut1(k, opc, rand, sqn, amf).slice(0, 8);
}

/** f1*: the resynchronisation message authentication function, MAC-S = OUT1[64..127] (TS 35.206 §4.1, TS 33.102 §6.3.3). */
export function f1star(k: KeyInput, opc: KeyInput, rand: Uint8Array, sqn: Uint8Array, amf: Uint8Array): Uint8Array {
  return checkedOut1(k, opc, rand, sqn, amf).slice(8, 16);
}

/** f2, f3, f4, f5: RES, CK, IK and AK from one RAND (TS 35.206 §4.1, TS 33.102 §6.3.2). */
export function f2345(k: KeyInput, opc: KeyInput, rand: Uint8Array): F2345 {
  return f2345From(checkedKernel(k, opc, rand));
}

/** f5*: the resynchronisation anonymity key AK* = OUT5[0..47] (TS 35.206 §4.1, TS 33.102 §6.3.3). */
export function f5star(k: KeyInput, opc: KeyInput, rand: Uint8Array): Uint8Array {
  return f5starFrom(checkedKernel(k, opc, rand));
}

/** Every Milenage output for one (K, OPc, RAND, SQN, AMF), sharing one kernel set-up (TS 35.206 §4.1). */
export function milenage(input: MilenageInput): MilenageOutput {
  const kn = checkedKernel(input.k, input.opc, input.rand);
  const o1 = out1(kn, checkBytes(input.sqn, L.sqn, 'sqn'), checkBytes(input.amf, L.amf, 'amf'));
  return { macA: o1.slice(0, 8), macS: o1.slice(8, 16), ...f2345From(kn), akStar: f5starFrom(kn) };
}
