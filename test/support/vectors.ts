/**
 * The JSON vector files under certs-free-test-vectors/ (sources cited per entry there), and the shapes
 * of the Milenage file's entries (TS 35.206, TS 35.207, TS 35.208, TS 33.102).
 */
import { readFileSync } from 'node:fs';
import { fromHex } from '../../src/util/index.js';

/** Parses certs-free-test-vectors/`name` as `T` (the caller states the shape it relies on). */
export const readVectors = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../certs-free-test-vectors/${name}`, import.meta.url), 'utf8')) as T;

/** A vector's hex value as octets (errors name it 'vector'). */
export const vectorBytes = (hex: string): Uint8Array => fromHex(hex, 'vector');

/** A Milenage test set: inputs, and whichever outputs the source lists. */
export interface MilenageSet {
  readonly id: string;
  readonly k: string;
  readonly rand: string;
  readonly sqn: string;
  readonly amf: string;
  readonly op?: string;
  readonly opc?: string;
  readonly f1?: string;
  readonly f1star?: string;
  readonly f2?: string;
  readonly f3?: string;
  readonly f4?: string;
  readonly f5?: string;
  readonly f5star?: string;
}

/** A published AUTN case: inputs and the vector AUTN, XRES, CK, IK, AK. */
export interface AutnCase {
  readonly id: string;
  readonly k: string;
  readonly opc: string;
  readonly rand: string;
  readonly sqn: string;
  readonly amf: string;
  readonly expected: { autn: string; res: string; ck: string; ik: string; ak: string };
}

/** A published AUTS case and the SQN_MS it carries. */
export interface AutsCase {
  readonly id: string;
  readonly k: string;
  readonly opc: string;
  readonly rand: string;
  readonly auts: string;
  readonly expected_sqn_ms: string;
}

/** certs-free-test-vectors/milenage.json. */
export interface MilenageFile {
  readonly sets_ts35208: readonly MilenageSet[];
  readonly sets_ts35207: readonly MilenageSet[];
  readonly autn: readonly AutnCase[];
  readonly auts: readonly AutsCase[];
}
