#!/usr/bin/env bash
# Writes certs-free-test-vectors/e2m-profiles.json: vectors for the e2m derivation profiles
# (DESIGN.md §3) and psk_identity formats (§4). Every expected key is computed here with
#   openssl mac -digest SHA256 -macopt hexkey:<key> -in <S file> HMAC
# over S = FC || P0 || L0 || ... (TS 33.220 B.2), built with printf/od/xxd; kid (hash mode) with
# `openssl dgst -sha256`, base64url with coreutils base64. Nothing here runs e2m's own code.
# Requires: bash, openssl, xxd, od, jq, base64.
set -euo pipefail
export LC_ALL=C

out="${1:-certs-free-test-vectors/e2m-profiles.json}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

SOURCE='expected computed with `openssl mac -digest SHA256 -macopt hexkey:<key> HMAC` over the octets of s_hex (scripts/gen-e2m-profile-vectors.sh), not by e2m code'

hex_of() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }          # UTF-8 octets of a string, hex
len2() { printf '%04x' $((${#1} / 2)); }                                # Li: 2-octet length of a hex string
hmac() {                                                                # hmac KEYHEX SHEX
  printf '%s' "$2" | xxd -r -p >"$tmp/s.bin"
  openssl mac -digest SHA256 -macopt "hexkey:$1" -in "$tmp/s.bin" HMAC | tr 'A-F' 'a-f'
}
sha256_hex() { printf '%s' "$1" | xxd -r -p | openssl dgst -sha256 -r | cut -d' ' -f1; }
b64url() { printf '%s' "$1" | xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '='; }

entries="$tmp/entries.jsonl"
: >"$entries"

# p_text NAME STRING: a character-string parameter (the string must already be NFKC).
p_text() { jq -nc --arg n "$1" --arg t "$2" --arg h "$(hex_of "$2")" '{name:$n, text:$t, hex:$h}'; }
# p_hex NAME HEX: an octet-string parameter.
p_hex() { jq -nc --arg n "$1" --arg h "$2" '{name:$n, hex:$h}'; }

# derive ID KIND FC KEYHEX INPUTS_JSON EXTRA_JSON PARAM_JSON...  -> appends an entry, sets $LAST
derive() {
  local id=$1 kind=$2 fc=$3 key=$4 inputs=$5 extra=$6
  shift 6
  local s=$fc p h
  for p in "$@"; do
    h=$(jq -r .hex <<<"$p")
    s+="$h$(len2 "$h")"
  done
  LAST=$(hmac "$key" "$s")
  jq -nc --arg id "$id" --arg kind "$kind" --arg fc "$fc" --arg key "$key" --argjson inputs "$inputs" \
    --argjson params "$(printf '%s\n' "$@" | jq -sc .)" --arg s "$s" --arg exp "$LAST" --arg src "$SOURCE" \
    --argjson extra "$extra" \
    '{id:$id, kind:$kind, inputs:$inputs, fc:$fc, key:$key, params:$params, s_hex:$s, expected:$exp} + $extra + {source:$src}' \
    >>"$entries"
}

# identity ID KIND INPUTS_JSON TEXT: a psk_identity entry (expected = UTF-8 octets of TEXT).
identity() {
  jq -nc --arg id "$1" --arg kind "$2" --argjson inputs "$3" --arg text "$4" --arg h "$(hex_of "$4")" \
    --arg src 'format of DESIGN.md §4; expected_hex = the UTF-8 octets of `text` (printf | od), not by e2m code' \
    '{id:$id, kind:$kind, inputs:$inputs, text:$text, expected_hex:$h, source:$src}' >>"$entries"
}

# ---- best profile -------------------------------------------------------------------------------
# CK, IK, RAND of TS 35.208 test set 1 and of the TS 35.207 implementors' test set 2 (milenage.json).
best_case() { # ID CK IK RAND SETNAME
  local ck=$2 ik=$3 rand=$4 kid_rand kid_hash
  derive "$1" e2mIntKey ffe0 "$ck$ik" "$(jq -nc --arg ck "$ck" --arg ik "$ik" --arg r "$rand" '{ck:$ck, ik:$ik, rand:$r}')" \
    "$(jq -nc --arg n "$5" '{inputs_from:$n}')" "$(p_text 'P0 "e2m_CIoT"' e2m_CIoT)"
  kid_rand=${rand:24:8}
  kid_hash=$(sha256_hex "$LAST" | cut -c1-8)
  jq -c --arg kr "$kid_rand" --arg kh "$kid_hash" \
    '. + {kid_rand:$kr, kid_hash:$kh, kid_source:"kid_rand = last 8 hex digits of RAND; kid_hash = first 8 hex digits of `openssl dgst -sha256` of expected"}' \
    <<<"$(tail -n1 "$entries")" >"$tmp/last" && sed -i '$d' "$entries" && cat "$tmp/last" >>"$entries"
}
best_case best-int-key-set1 b40ba9a3c58b2a05bbf0d987b21bf8cb f769bcd751044604127672711c6d3441 \
  23553cbe9637a89d218ae64dae47bf35 'TS 35.208 test set 1 (f3, f4, RAND)'
INT1=$LAST
best_case best-int-key-35207-set2 58c433ff7a7082acd424220f2b67c556 21a8c1f929702adb3e738488b9f5c5da \
  c00d603103dcee52c4478119494202e8 'TS 35.207 implementors test set 2 (f3, f4, RAND)'
INT2=$LAST

e2m_key() { # ID INTKEY EMSE_ID(raw) EMSE_ID(NFKC) [NOTE]
  local extra='{}'
  [ $# -ge 5 ] && extra=$(jq -nc --arg n "$5" '{note:$n}')
  derive "$1" e2mKey ffe1 "$2" "$(jq -nc --arg k "$2" --arg e "$3" '{intKey:$k, emseId:$e}')" "$extra" \
    "$(p_text 'P0 EMSE_Id' "$4")" "$(p_text 'P1 "e2m_key"' e2m_key)"
}
e2m_key best-e2m-key-set1 "$INT1" emse.example.com emse.example.com
e2m_key best-e2m-key-35207-set2 "$INT2" coap-gw-7.factory.example.org coap-gw-7.factory.example.org
e2m_key best-e2m-key-utf8 "$INT1" 'émse-münchen.例え.jp' 'émse-münchen.例え.jp' \
  'non-ASCII EMSE_Id (already NFKC): P0 is its UTF-8 octets'
e2m_key best-e2m-key-nfkc "$INT1" 'ﬁeld-emse.example' 'field-emse.example' \
  'EMSE_Id contains U+FB01 (LATIN SMALL LIGATURE FI); P0 is its NFKC form "field-emse.example" (TS 33.220 B.2.1.2)'

# Configuration override: best.intKey with FC 0xFF 0xA0 and string "lab_CIoT".
derive best-int-key-override e2mIntKey ffa0 b40ba9a3c58b2a05bbf0d987b21bf8cbf769bcd751044604127672711c6d3441 \
  '{"ck":"b40ba9a3c58b2a05bbf0d987b21bf8cb","ik":"f769bcd751044604127672711c6d3441","rand":"23553cbe9637a89d218ae64dae47bf35"}' \
  '{"config":{"best":{"intKey":{"fc":"0xffa0","label":"lab_CIoT"}}}}' "$(p_text 'P0 "lab_CIoT"' lab_CIoT)"

identity best-psk-identity-design bestPskIdentity '{"kid":"ae47bf35","appIdentity":"sensor-17@iot.example.com"}' \
  'e2m:ae47bf35:sensor-17@iot.example.com'
identity best-psk-identity-utf8 bestPskIdentity '{"kid":"0a1b2c3d","appIdentity":"capteur-été@usine.example.fr"}' \
  'e2m:0a1b2c3d:capteur-été@usine.example.fr'
long_app="$(printf 'a%.0s' $(seq 1 103))@iot.example" # 103 + 12 = 115 octets; "e2m:ffffffff:" adds 13 = 128
identity best-psk-identity-128 bestPskIdentity "$(jq -nc --arg a "$long_app" '{kid:"ffffffff", appIdentity:$a}')" \
  "e2m:ffffffff:$long_app"

# ---- scef profile -------------------------------------------------------------------------------
derive scef-ks-set1 ks ffe2 b40ba9a3c58b2a05bbf0d987b21bf8cbf769bcd751044604127672711c6d3441 \
  '{"ck":"b40ba9a3c58b2a05bbf0d987b21bf8cb","ik":"f769bcd751044604127672711c6d3441"}' '{}' \
  "$(p_text 'P0 "End-to-End_IOT"' End-to-End_IOT)"
KS=$LAST
derive scef-ks-as-set1 ksAs ffe3 "$KS" "$(jq -nc --arg k "$KS" '{ks:$k, asId:"as.example.net"}')" '{}' \
  "$(p_text 'P0 AS_ID' as.example.net)"
identity scef-psk-identity scefPskIdentity '{"guti":"00101-8001-01-c0ffee01"}' 'guti:00101-8001-01-c0ffee01'

# ---- akma profile -------------------------------------------------------------------------------
SNN='5G:mnc001.mcc001.3gppnetwork.org'
derive akma-kausf-published kausf 6a 0102030405060708090a0b0c0d0e0f0002030405060708090a0b0c0d0e0f0001 \
  "$(jq -nc --arg s "$SNN" '{ck:"0102030405060708090a0b0c0d0e0f00", ik:"02030405060708090a0b0c0d0e0f0001", servingNetworkName:$s, sqnXorAk:"0304050607f7"}')" \
  '{"published":{"value":"20de4eb2b75c8dac301ad52773e2e37bd7b4b0c2fdb1c3751b98dd0df846aed5","repo":"frankurcrazy/helloworld","path":"5g/keys/ReadMe.txt (inputs in 5g/keys/k_ausf.c)","commit":"3b22cab0a7c7c079f0d815b8cfd3f323c7d35e22","note":"SQN 0000000000ff xor AK 030405060708; PLMN 001/01"}}' \
  "$(p_text 'P0 serving network name' "$SNN")" "$(p_hex 'P1 SQN xor AK' 0304050607f7)"
KAUSF=$LAST
[ "$KAUSF" = 20de4eb2b75c8dac301ad52773e2e37bd7b4b0c2fdb1c3751b98dd0df846aed5 ] || {
  echo "K_AUSF does not match the published value" >&2
  exit 1
}
SUPI=001010123456789
derive akma-kakma kakma 80 "$KAUSF" "$(jq -nc --arg k "$KAUSF" --arg s "$SUPI" '{kausf:$k, supi:$s}')" '{}' \
  "$(p_text 'P0 "AKMA"' AKMA)" "$(p_text 'P1 SUPI (IMSI digits)' "$SUPI")"
KAKMA=$LAST
derive akma-a-tid aTid 81 "$KAUSF" "$(jq -nc --arg k "$KAUSF" --arg s "$SUPI" '{kausf:$k, supi:$s}')" '{}' \
  "$(p_text 'P0 "A-TID"' A-TID)" "$(p_text 'P1 SUPI (IMSI digits)' "$SUPI")"
ATID=$LAST
UA=010001c0a8 # TS 33.220 H.3 (0x01,0x00,0x01,yy,zz), yy zz = TLS_PSK_WITH_AES_128_CCM_8 0xC0A8
AF=emse.example.com
derive akma-kaf kaf 82 "$KAKMA" "$(jq -nc --arg k "$KAKMA" --arg a "$AF" --arg u "$UA" '{kakma:$k, afFqdn:$a, uaProtocolId:$u}')" '{}' \
  "$(p_hex 'P0 AF_ID = FQDN || Ua* protocol id' "$(hex_of "$AF")$UA")"
AKID="0123.$(b64url "$ATID")@mnc001.mcc001.3gppnetwork.org"
jq -nc --arg t "$ATID" --arg a "$AKID" --arg h "$(hex_of "3GPP-AKMA$AKID")" \
  --arg src 'rendering of DESIGN.md §4 (base64url via coreutils base64 | tr), not by e2m code' \
  '{id:"akma-akid", kind:"akid", inputs:{rid:"0123", aTid:$t, realm:"mnc001.mcc001.3gppnetwork.org"}, text:$a, psk_identity_hex:$h, source:$src}' \
  >>"$entries"

jq -n --slurpfile e "$entries" '{
  family: "e2m derivation profiles (DESIGN.md §3) and psk_identity formats (DESIGN.md §4)",
  generator: "scripts/gen-e2m-profile-vectors.sh",
  method: "Each KDF entry: S = FC || P0 || L0 || ... (TS 33.220 B.2.1), key = the HMAC key, expected = HMAC-SHA-256(key, S) from openssl. fc is hex (two octets = 0xFF || FC2). Character strings are UTF-8 of their NFKC form (TS 33.220 B.2.1.2).",
  entries: $e
}' >"$out"
echo "wrote $out ($(wc -l <"$entries") entries)"
