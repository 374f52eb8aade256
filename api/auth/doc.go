// Package auth holds the credential primitives of WA Gateway: API keys,
// dashboard passwords, session tokens, the failed-login throttle and e-mail
// normalisation. It is pure Go and knows nothing of HTTP or storage; the API
// layer turns its errors into statuses and the store keeps only the hashes it
// produces.
//
// API keys come in three kinds:
//
//	gw_live_<body>              workspace key, live mode
//	gw_test_<body>              workspace key, test mode (sandbox devices only)
//	dev_<workspaceId>_<body>    device key, bound to one device
//
// The body is 32 base62 characters from crypto/rand followed by 6 base62
// characters of the CRC-32 (IEEE) of everything before them, prefix included.
// ParseKey therefore refuses a mistyped or truncated key without a lookup.
// Keys carry at least 190 bits of entropy, so they are stored as plain
// SHA-256 hashes: a slow hash would add its cost to every API call and buy
// nothing against a search space that size.
//
// Passwords are hashed with Argon2id at the OWASP minimum (19 MiB, t=2, p=1)
// and stored as PHC strings, which carry their own parameters so that the
// cost can be raised later without invalidating stored hashes. At most two
// hashes run at once in the whole process, so a login flood queues instead
// of exhausting memory and CPU.
//
// Session tokens are "gws_" followed by 32 random bytes in unpadded base64url;
// like keys they are stored as SHA-256 hashes.
package auth
