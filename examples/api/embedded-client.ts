// A client agent inside an existing Node HTTP service: the service keeps answering its own
// routes while the agent trains, and GET /health reports the agent. So that it runs on its own,
// the example also starts a coordinator on loopback that admits by join token; a deployed
// service would be given the coordinator's URL, its public key and the token instead.
// expect-output: ^GET /health → 200 \{"status":"done","rounds":3\}$
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClientAgent, EngineFactory, EngineTrainer, createLogger, datasetFromRows, generateIdentity, runConfig, startCoordinator } from 'starling-fl';

const log = createLogger('warn');
// the service's own rows: two features, labelled 1 where their sum is positive
const rows = Array.from({ length: 256 }, (_, i) => [Math.sin(i), Math.cos(1.3 * i)]);
const dataset = datasetFromRows(
  rows,
  rows.map(([a, b]) => (a! + b! > 0 ? 1 : 0)),
);

const joinToken = 'a-join-token-for-this-example';
const coordinatorIdentity = generateIdentity();
const model = { type: 'mlp' as const, inputs: 2, hidden: [8], outputs: 2 };
const config = runConfig({ clients: 1, rounds: 3, port: 0, evaluate: 'none', store: false, model });
const coordinator = await startCoordinator(config, { log, writeHistory: false, security: { identity: coordinatorIdentity, admission: { joinToken } } });

const health = { status: 'connecting', rounds: 0 };
const agent = new ClientAgent({
  url: coordinator.url,
  name: 'service-1',
  trainer: new EngineTrainer(new EngineFactory({ log }), { dataset }),
  log,
  security: { identity: generateIdentity(), coordinatorKey: coordinatorIdentity.publicKey, joinToken },
  onFit: (round) => Object.assign(health, { status: 'training', rounds: round }),
});

const server = createServer((req, res) => {
  const found = req.url === '/health';
  res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
  res.end(found ? JSON.stringify(health) : '{}');
}).listen(0, '127.0.0.1');
await once(server, 'listening');

const outcome = await agent.run();
health.status = 'done';
console.log(`agent finished after ${outcome.rounds} rounds: ${outcome.reason}`);
const reply = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health`);
console.log(`GET /health → ${reply.status} ${await reply.text()}`);
await coordinator.done;
await coordinator.close();
server.close();
