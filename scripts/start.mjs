#!/usr/bin/env node
// `npm start` will run the gateway with its demo CRM once the gateway package exists; until then it says so.
console.log(`Switchboard: the SIP core is built (packages/sip/dist).
The gateway and its demo CRM page are not part of this version yet; \`npm test\` shows what works today.`);
