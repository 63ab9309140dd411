import test from 'ava'
import type {Policy, PolicyRules} from '../../src/lib/api-types/index.js'
import {evaluate, type Who} from '../../platform/edge/policy.js'

const none = (): PolicyRules => ({emails: [], directories: [], serviceAccounts: [], ips: []})
const policy = (p: {public?: boolean; allow?: Partial<PolicyRules>; deny?: Partial<PolicyRules>}): Policy => ({
  id: 'pol_x', projectId: 'prj_x', name: 'p', public: p.public ?? false,
  allow: {...none(), ...p.allow}, deny: {...none(), ...p.deny}, createdAt: '', updatedAt: '',
})
const anon: Who = {kind: 'anonymous'}
const alice: Who = {kind: 'user', id: 'usr_a', email: 'alice@example.test', directoryIds: ['dir_platform', 'dir_eng']}
const bob: Who = {kind: 'user', id: 'usr_b', email: 'bob@example.test', directoryIds: []}
const robot: Who = {kind: 'service', id: 'sa_ci', name: 'ci'}

test('a null policy lets any signed-in user in and sends anonymous callers to login', (t) => {
  t.deepEqual(evaluate(null, alice, '127.0.0.1'), {allow: true, reasons: ['authenticated-user']})
  t.deepEqual(evaluate(null, anon, '127.0.0.1'), {allow: false, reasons: ['user-unauthenticated']})
})

test('a null policy refuses service accounts as unauthorized', (t) => {
  t.deepEqual(evaluate(null, robot, '127.0.0.1'), {allow: false, reasons: ['user-unauthorized']})
})

test('a route is public only under a public policy', (t) => {
  t.deepEqual(evaluate(policy({public: true}), anon, '10.0.0.1'), {allow: true, reasons: ['public']})
  t.false(evaluate(policy({}), anon, '10.0.0.1').allow)
})

test('allow by email ignores letter case', (t) => {
  const p = policy({allow: {emails: ['ALICE@example.test']}})
  t.deepEqual(evaluate(p, alice, '1.2.3.4'), {allow: true, reasons: ['email-allowed']})
  t.deepEqual(evaluate(p, bob, '1.2.3.4'), {allow: false, reasons: ['user-unauthorized']})
})

test('allow by directory matches members of sub-directories (ancestors are in directoryIds)', (t) => {
  const p = policy({allow: {directories: ['dir_eng']}})
  t.deepEqual(evaluate(p, alice, '1.2.3.4'), {allow: true, reasons: ['directory-allowed']})
  t.false(evaluate(p, bob, '1.2.3.4').allow)
})

test('deny wins over allow, for emails and directories', (t) => {
  t.deepEqual(evaluate(policy({allow: {emails: ['alice@example.test']}, deny: {emails: ['alice@example.test']}}), alice, '1.2.3.4'), {allow: false, reasons: ['email-denied']})
  t.deepEqual(evaluate(policy({public: true, deny: {directories: ['dir_eng']}}), alice, '1.2.3.4'), {allow: false, reasons: ['directory-denied']})
})

test('deny by IP range wins even on a public policy, for IPv4, IPv6 and IPv4-mapped IPv6', (t) => {
  const p = policy({public: true, deny: {ips: ['203.0.113.0/24', '2001:db8::/32']}})
  t.deepEqual(evaluate(p, anon, '203.0.113.9'), {allow: false, reasons: ['ip-denied']})
  t.deepEqual(evaluate(p, anon, '::ffff:203.0.113.9'), {allow: false, reasons: ['ip-denied']})
  t.deepEqual(evaluate(p, anon, '2001:db8::1'), {allow: false, reasons: ['ip-denied']})
  t.true(evaluate(p, anon, '198.51.100.1').allow)
  t.true(evaluate(p, anon, '2001:db9::1').allow)
})

test('allow.ips is a requirement: outside the ranges is forbidden even for an allowed user', (t) => {
  const p = policy({allow: {emails: ['alice@example.test'], ips: ['10.0.0.0/8']}})
  t.true(evaluate(p, alice, '10.1.2.3').allow)
  t.true(evaluate(p, alice, '::ffff:10.1.2.3').allow)
  t.deepEqual(evaluate(p, alice, '192.168.1.1'), {allow: false, reasons: ['ip-not-allowed']})
})

test('service accounts pass only when named; a deny naming them wins', (t) => {
  t.deepEqual(evaluate(policy({allow: {serviceAccounts: ['sa_ci']}}), robot, '1.1.1.1'), {allow: true, reasons: ['service-account-allowed']})
  t.deepEqual(evaluate(policy({allow: {emails: ['alice@example.test']}}), robot, '1.1.1.1'), {allow: false, reasons: ['user-unauthorized']})
  t.deepEqual(evaluate(policy({allow: {serviceAccounts: ['sa_ci']}, deny: {serviceAccounts: ['sa_ci']}}), robot, '1.1.1.1'), {allow: false, reasons: ['service-account-denied']})
})

test('a policy naming nobody lets signed-in users in but not service accounts', (t) => {
  t.true(evaluate(policy({deny: {emails: ['bob@example.test']}}), alice, '1.1.1.1').allow)
  t.false(evaluate(policy({deny: {emails: ['bob@example.test']}}), bob, '1.1.1.1').allow)
  t.false(evaluate(policy({}), robot, '1.1.1.1').allow)
})

test('an unparseable client address fails closed when IP rules exist', (t) => {
  t.deepEqual(evaluate(policy({public: true, deny: {ips: ['10.0.0.0/8']}}), anon, 'not-an-ip'), {allow: false, reasons: ['invalid-client-ip']})
})
