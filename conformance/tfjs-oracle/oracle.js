// Usage: node oracle.js model.json input.f32 outdir [shape, default 1,3,416,416]
// Runs a tfjs graph model on the pure-JS CPU backend and writes each output as raw little-endian float32.
const tf = require('@tensorflow/tfjs');
const fs = require('fs');
const path = require('path');
async function main() {
  const [modelJson, inputFile, outDir, shapeArg] = process.argv.slice(2);
  const shape = (shapeArg || '1,3,416,416').split(',').map(Number);
  await tf.setBackend('cpu');
  const model = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const dir = path.dirname(modelJson);
  const buffers = [];
  for (const group of model.weightsManifest) for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const weightSpecs = model.weightsManifest.flatMap(g => g.weights);
  const gm = await tf.loadGraphModel(tf.io.fromMemory({modelTopology: model.modelTopology, weightSpecs, weightData,
      format: model.format, generatedBy: model.generatedBy, convertedBy: model.convertedBy, signature: model.signature}));
  const raw = fs.readFileSync(inputFile);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const input = tf.tensor(data, shape, 'float32');
  const names = gm.outputs.map(o => o.name);
  const t0 = Date.now();
  const outs = await gm.executeAsync(input, names);
  console.error('forward ms', Date.now() - t0);
  fs.mkdirSync(outDir, {recursive: true});
  const list = Array.isArray(outs) ? outs : [outs];
  for (let i = 0; i < list.length; i++) {
    const file = names[i].replace(/[:/]/g, '_') + '.f32';
    const v = await list[i].data();
    fs.writeFileSync(path.join(outDir, file), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    console.log(names[i], JSON.stringify(list[i].shape), file);
  }
}
main().catch(e => { console.error(e); process.exit(1); });
