// interop5.js - MQTT 5.0 checks of `mqttsim broker` with MQTT.js (npm mqtt), a client nobody
// here wrote. Usage: node interop5.js PREFIX PORT CASE, PREFIX holding node_modules/mqtt
// (tests/interop5.sh installs it into build/mqttjs). Prints one line and exits 0 on success;
// prints what was expected and what happened and exits 1 on failure. Every wait is bounded.
'use strict'
const path = require('path')
const [prefix, port, which] = process.argv.slice(2)
const mqtt = require(path.resolve(prefix, 'node_modules', 'mqtt'))
const url = `mqtt://127.0.0.1:${port}`

function fail (msg) {
  console.log('FAIL: ' + msg)
  process.exit(1)
}
setTimeout(() => fail(`case ${which} did not finish within 15 s`), 15000).unref()

function connect (id, opts = {}) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { clientId: id, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts })
    c.got = []
    c.on('message', (topic, payload, packet) => c.got.push({ topic, payload: payload.toString(), packet }))
    c.once('connect', (connack) => { c.connack = connack; resolve(c) })
    c.once('error', (e) => reject(new Error(`${id}: ${e.message}`)))
  })
}
const sub = (c, filter, opts) => c.subscribeAsync(filter, opts).then((granted) => {
  const bad = granted.filter((g) => g.qos > 2)
  if (bad.length) fail(`SUBACK 0x${bad[0].qos.toString(16)} for ${bad[0].topic}`)
})
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
async function until (pred, ms = 5000) {
  for (const end = Date.now() + ms; !pred() && Date.now() < end;) await sleep(10)
}
const end = (...cs) => Promise.all(cs.map((c) => c.endAsync()))

const cases = {
  // $share/g/sh/t: each message to exactly one member of the group [MQTT-4.8.2-*], a plain
  // subscriber to the same topic gets every one.
  async shared () {
    const n = 20
    const a = await connect('js-share-a'); const b = await connect('js-share-b'); const all = await connect('js-share-all')
    await sub(a, '$share/g/sh/t', { qos: 1 }); await sub(b, '$share/g/sh/t', { qos: 1 }); await sub(all, 'sh/t', { qos: 1 })
    const p = await connect('js-share-pub')
    for (let i = 0; i < n; i++) await p.publishAsync('sh/t', `m${i}`, { qos: 1 })
    await until(() => a.got.length + b.got.length >= n && all.got.length >= n)
    await sleep(200) // a duplicate would come right after
    const ga = a.got.map((m) => m.payload); const gb = b.got.map((m) => m.payload)
    const both = ga.filter((x) => gb.includes(x))
    const union = new Set([...ga, ...gb])
    if (both.length || union.size !== n || ga.length + gb.length !== n) fail(`members got ${JSON.stringify(ga)} and ${JSON.stringify(gb)}; wanted each of m0..m${n - 1} once between them`)
    if (!ga.length || !gb.length) fail(`one member got all ${n} (a: ${ga.length}, b: ${gb.length}); the broker's policy is round robin`)
    if (all.got.length !== n || all.got.some((m, i) => m.payload !== `m${i}`)) fail(`the plain subscriber got ${JSON.stringify(all.got.map((m) => m.payload))}`)
    if (a.got.concat(b.got).some((m) => m.topic !== 'sh/t')) fail('a member saw a topic other than sh/t')
    await end(a, b, all, p)
    return `${n} messages: member a ${ga.length}, member b ${gb.length}, none twice; the plain subscriber all ${n}`
  },
  // The publisher sets topic alias 1 with the topic, then sends by alias alone (empty topic);
  // with autoUseTopicAlias MQTT.js may do the same by itself. The subscriber sees the full topic.
  async alias () {
    const s = await connect('js-alias-sub', { properties: { topicAliasMaximum: 5 } })
    await sub(s, 'al/#', { qos: 1 })
    const p = await connect('js-alias-pub', { autoUseTopicAlias: true })
    const max = p.connack.properties && p.connack.properties.topicAliasMaximum
    if (!(max >= 1)) fail(`CONNACK Topic Alias Maximum ${max}, wanted at least 1`)
    await p.publishAsync('al/one', 'set', { qos: 1, properties: { topicAlias: 1 } })
    await p.publishAsync('', 'by-alias', { qos: 1, properties: { topicAlias: 1 } })
    await p.publishAsync('al/two', 'set2', { qos: 0, properties: { topicAlias: 2 } })
    await p.publishAsync('al/two', 'auto', { qos: 0 }) // autoUseTopicAlias: MQTT.js may send alias 2 alone
    await p.publishAsync('al/one', 'rebound', { qos: 1, properties: { topicAlias: 2 } }) // alias 2 now means al/one
    await p.publishAsync('', 'after-rebind', { qos: 1, properties: { topicAlias: 2 } })
    await until(() => s.got.length >= 6)
    const seen = s.got.map((m) => `${m.topic} ${m.payload}`).join(', ')
    const want = 'al/one set, al/one by-alias, al/two set2, al/two auto, al/one rebound, al/one after-rebind'
    if (seen !== want) fail(`subscriber got: ${seen}; wanted: ${want}`)
    if (s.got.some((m) => m.packet.properties && m.packet.properties.topicAlias !== undefined)) fail('the broker sent a topic alias it says it never sends')
    await end(s, p)
    return `6 publications by alias (set, reused, rebound), all delivered with their topics; Topic Alias Maximum ${max}`
  },
  // Two overlapping subscriptions with identifiers 5 and 9 and one with none: one PUBLISH
  // carries both identifiers [MQTT-3.3.4-3, MQTT-3.3.4-4]; a match of only one carries one.
  async subid () {
    const s = await connect('js-subid')
    await sub(s, 'si/#', { qos: 1, properties: { subscriptionIdentifier: 5 } })
    await sub(s, 'si/+/x', { qos: 1, properties: { subscriptionIdentifier: 9 } })
    const o = await connect('js-subid-none')
    await sub(o, 'si/#', { qos: 1 })
    const p = await connect('js-subid-pub')
    await p.publishAsync('si/a/x', 'both', { qos: 1 })
    await p.publishAsync('si/a/y', 'one', { qos: 1 })
    await until(() => s.got.length >= 2 && o.got.length >= 2)
    await sleep(200)
    const ids = (m) => { const v = m.packet.properties && m.packet.properties.subscriptionIdentifier; return v === undefined ? [] : [].concat(v).sort((x, y) => x - y) }
    const seen = s.got.map((m) => `${m.payload}:${ids(m).join('+')}`).join(' ')
    if (seen !== 'both:5+9 one:5') fail(`got ${seen}; wanted both:5+9 one:5`)
    if (o.got.some((m) => ids(m).length)) fail(`a subscription without an identifier got ${JSON.stringify(o.got.map(ids))}`)
    await end(s, o, p)
    return 'one PUBLISH with identifiers 5 and 9, one with 5, none without'
  }
}

if (!cases[which]) fail(`unknown case ${which} (one of ${Object.keys(cases).join(', ')})`)
cases[which]().then((line) => { console.log(line); process.exit(0) }, (e) => fail(e.stack || String(e)))
