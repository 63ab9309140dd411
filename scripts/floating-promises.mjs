// Lists promises that are created and dropped (not awaited, returned, assigned or voided), and
// promises used as conditions: after the store became async, each of these is a bug.
import ts from 'typescript'
import {resolve} from 'node:path'

const configPath = resolve('tsconfig.json')
const cfg = ts.getParsedCommandLineOfConfigFile(configPath, {}, {...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {}})
const program = ts.createProgram(cfg.fileNames, cfg.options)
const checker = program.getTypeChecker()
const only = process.argv.slice(2)
const isPromise = (node) => {
  const t = checker.getTypeAtLocation(node)
  const parts = t.isUnion() ? t.types : [t]
  return parts.some((p) => p.getSymbol()?.getName() === 'Promise' || checker.getPropertyOfType(p, 'then') !== undefined && p.getSymbol()?.getName() !== 'Kysely')
}
// A chain that ends in .catch(fn) or .then(ok, fail) handles its own rejection; fastify's reply is thenable but not a promise.
const handled = (call) => {
  const callee = call.expression
  if (ts.isPropertyAccessExpression(callee)) {
    const name = callee.name.text
    if (name === 'catch' || (name === 'then' && call.arguments.length === 2)) return true
    if (checker.getTypeAtLocation(callee.expression).getSymbol()?.getName() === 'FastifyReply') return true
  }
  return false
}
const out = []
for (const sf of program.getSourceFiles()) {
  if (sf.isDeclarationFile || sf.fileName.includes('node_modules')) continue
  if (only.length && !only.some((o) => sf.fileName.includes(o))) continue
  const visit = (node) => {
    if (ts.isExpressionStatement(node) && ts.isCallExpression(node.expression) && isPromise(node.expression) && !handled(node.expression)) report(node.expression, 'dropped promise')
    if ((ts.isIfStatement(node) || ts.isWhileStatement(node) || ts.isConditionalExpression(node)) && isPromise(ts.isConditionalExpression(node) ? node.condition : node.expression)) report(node, 'promise as condition')
    if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken && isPromise(node.operand)) report(node, 'negated promise')
    if (ts.isBinaryExpression(node) && [ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken].includes(node.operatorToken.kind) && isPromise(node.left)) report(node, 'promise in && / ||')
    ts.forEachChild(node, visit)
  }
  const report = (node, what) => {
    const {line} = sf.getLineAndCharacterOfPosition(node.getStart())
    out.push(`${sf.fileName.replace(process.cwd() + '/', '')}:${line + 1}: ${what}: ${node.getText().slice(0, 100).replace(/\s+/g, ' ')}`)
  }
  visit(sf)
}
if (out.length) console.log(out.join('\n'))
console.error(`${out.length} finding(s)`)
process.exitCode = out.length ? 1 : 0
