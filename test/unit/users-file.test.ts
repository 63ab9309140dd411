import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {readUsersFile} from '../../src/lib/users-file.js'
import {tempDir} from '../helpers/platform.js'

function file(t: Parameters<typeof tempDir>[0], name: string, text: string): string {
  const p = join(tempDir(t), name)
  writeFileSync(p, text)
  return p
}

test('CSV rows keep the line they start on, also when a quoted field spans lines', (t) => {
  const rows = readUsersFile(file(t, 'a.csv', 'email,name,role,directories\na@x.test,"Ann\nSecond line",admin,eng; sales \n\nb@x.test,,,'))
  t.deepEqual(rows, [
    {line: 2, email: 'a@x.test', name: 'Ann\nSecond line', role: 'admin', directories: ['eng', 'sales']},
    {line: 5, email: 'b@x.test'},
  ])
})

test('JSON rows of an export document keep the line each user starts on and drop what import does not read', (t) => {
  const text = '{"format":"mezu-users","version":1,"exportedAt":"2026-01-01T00:00:00.000Z","users":[\n{"id":"usr_x","email":"a@x.test","sessions":[{"ip":"1.2.3.4"}],"loginHistory":[]},\n{"email":"b@x.test","name":"has \\"quotes\\", and [brackets]"}\n]}\n'
  t.deepEqual(readUsersFile(file(t, 'e.json', text)), [
    {line: 2, email: 'a@x.test'},
    {line: 3, email: 'b@x.test', name: 'has "quotes", and [brackets]'},
  ])
})

test('refuses unknown CSV columns, broken JSON and empty files, naming the file', (t) => {
  t.throws(() => readUsersFile(file(t, 'c.csv', 'email,nick\na@x.test,A\n')), {message: /line 1: unknown column\(s\) nick/})
  t.throws(() => readUsersFile(file(t, 'd.json', '[{"email": }]')), {message: /d\.json is not valid JSON/})
  t.throws(() => readUsersFile(file(t, 'f.json', '{"people": []}')), {message: /expected a JSON array/})
  t.throws(() => readUsersFile(file(t, 'g.csv', 'email,name\n')), {message: /holds no users/})
})
