/** Sent in `hello.client` for the gateway's logs; a unit test keeps it equal to package.json's version. */
export const CLIENT_NAME = '@switchboard/client';
export const CLIENT_VERSION = '0.1.0';
