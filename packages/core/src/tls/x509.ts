/**
 * @peculiar/x509, with what it needs loaded first: since version 2 it expects the application to provide the
 * Reflect metadata API (its dependency injection, tsyringe, checks for it when loaded). Import x509 from here.
 */
import 'reflect-metadata';
export * from '@peculiar/x509';
